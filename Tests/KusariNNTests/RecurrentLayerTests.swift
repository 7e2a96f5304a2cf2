import Foundation
import Kusari
import KusariNN
import Testing

struct RecurrentLayerTests {
    private func sigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }

    /// One LSTM step written out with plain arrays, Chainer's interleaved (a, i, f, o) layout.
    private func manualStep(_ cell: LSTMCell, x: [Float], batch: Int, h: [Float]?, c: [Float]?) -> (h: [Float], c: [Float]) {
        let (input, hidden) = (cell.inputSize, cell.hiddenSize)
        let wx = cell.upward.W.scalars, bx = cell.upward.b!.scalars, wh = cell.lateral.W.scalars
        var newH = [Float](repeating: 0, count: batch * hidden), newC = newH
        for n in 0..<batch {
            var z = [Float](repeating: 0, count: 4 * hidden)
            for row in 0..<(4 * hidden) {
                var total = bx[row]
                for k in 0..<input { total += wx[row * input + k] * x[n * input + k] }
                if let h { for k in 0..<hidden { total += wh[row * hidden + k] * h[n * hidden + k] } }
                z[row] = total
            }
            for j in 0..<hidden {
                let a = Foundation.tanh(z[4 * j]), i = sigmoid(z[4 * j + 1])
                let f = sigmoid(z[4 * j + 2]), o = sigmoid(z[4 * j + 3])
                let cell = a * i + f * (c?[n * hidden + j] ?? 0)
                newC[n * hidden + j] = cell
                newH[n * hidden + j] = o * Foundation.tanh(cell)
            }
        }
        return (newH, newC)
    }

    @Test func lstmCellMatchesManualGateMath() {
        let cell = LSTMCell(3, 4, generator: Generator(seed: 21))
        setValues(cell.upward.b!, lcgValues(16, seed: 22))
        let x1 = lcgTensor([2, 3], seed: 23), x2 = lcgTensor([2, 3], seed: 24)
        let first = cell(x1, state: nil)
        let expected1 = manualStep(cell, x: x1.scalars, batch: 2, h: nil, c: nil)
        #expect(first.h.shape == [2, 4] && first.c.shape == [2, 4])
        #expect(maxAbsDiff(first.h.scalars, expected1.h) < 1e-5)
        #expect(maxAbsDiff(first.c.scalars, expected1.c) < 1e-5)
        let second = cell(x2, state: first)
        let expected2 = manualStep(cell, x: x2.scalars, batch: 2, h: expected1.h, c: expected1.c)
        #expect(maxAbsDiff(second.h.scalars, expected2.h) < 1e-5)
        #expect(maxAbsDiff(second.c.scalars, expected2.c) < 1e-5)
    }

    @Test func lstmInitialisation() {
        let lstm = LSTM(3, 5, forgetBias: 1)
        let bias = lstm.upward.b!.scalars
        #expect(bias == (0..<20).map { $0 % 4 == 2 ? 1 : 0 })
        #expect(lstm.lateral.b == nil)
        #expect(lstm.namedParameters().map(\.0) == ["upward.W", "upward.b", "lateral.W"])
        #expect(LSTM(3, 5).upward.b!.scalars.allSatisfy { $0 == 0 })
    }

    @Test func statefulLSTMStepsAndSequences() {
        let lstm = LSTM(2, 3, generator: Generator(seed: 31))
        let sequence = lcgTensor([4, 2, 2], seed: 32)
        // Step by step.
        var stepped: [Float] = []
        for t in 0..<4 {
            stepped += lstm.step(sequence.slice(axis: 0, start: t, end: t + 1).reshape([2, 2])).scalars
        }
        let finalState = lstm.state!
        // The same sequence at once, from a reset state.
        lstm.resetState()
        #expect(lstm.state == nil)
        let output = lstm(sequence)
        #expect(output.shape == [4, 2, 3])
        #expect(maxAbsDiff(output.scalars, stepped) < 1e-6)
        #expect(maxAbsDiff(lstm.state!.c.scalars, finalState.c.scalars) < 1e-6)
        // Stateless sequence forward leaves the kept state alone.
        lstm.resetState()
        let (again, state) = lstm.forward(sequence: sequence)
        #expect(maxAbsDiff(again.scalars, stepped) < 1e-6 && state != nil && lstm.state == nil)
        // Continuing from a kept state differs from starting fresh.
        _ = lstm(sequence)
        let continued = lstm(sequence)
        #expect(maxAbsDiff(continued.scalars, stepped) > 1e-4)
    }

    @Test func rclMatchesComposedConvolutions() {
        let layer = RCL(steps: 3, channels: 4, generator: Generator(seed: 41))
        setValues(layer.convR.b!, lcgValues(4, seed: 42))
        setValues(layer.convFF.b!, lcgValues(4, seed: 43))
        let x = lcgTensor([2, 4, 5, 5], seed: 44)
        let ff = conv2d(x, layer.convFF.W, bias: layer.convFF.b, padding: [1, 1])
        var rf = ff
        for _ in 0..<2 { rf = conv2d(rf, layer.convR.W, bias: layer.convR.b, padding: [1, 1]) + ff }
        let y = layer(x)
        #expect(y.shape == [2, 4, 5, 5])
        #expect(maxAbsDiff(y.scalars, relu(rf).scalars) < 1e-5)
        #expect(layer.namedParameters().map(\.0) == ["convR.W", "convR.b", "convFF.W", "convFF.b"])
        // T = 1 is conv → ReLU; the seed's positional form RCL(T, K) also works.
        let single = RCL(1, 4, generator: Generator(seed: 45))
        #expect(maxAbsDiff(single(x).scalars, relu(single.convFF(x)).scalars) < 1e-6)
    }
}
