import Foundation
import Testing
@testable import Kusari

/// Reference reduction over `axes` of row-major `values`, in Double; returns the kept-dims shape.
func reduceReference(_ values: [Float], _ shape: [Int], axes: Set<Int>,
                     _ combine: ([Double]) -> Double) -> (values: [Float], keptShape: [Int]) {
    let kept = shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
    var groups = [[Double]](repeating: [], count: kept.reduce(1, *))
    for flat in 0..<values.count {
        var rest = flat, target = 0, scale = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            let i = rest % shape[axis]
            rest /= shape[axis]
            if !axes.contains(axis) { target += i * scale }
            scale *= kept[axis]
        }
        groups[target].append(Double(values[flat]))
    }
    return (groups.map { Float(combine($0)) }, kept)
}

struct ReductionForwardTests {
    static let shape = [3, 4, 5]
    static let axisSets: [[Int]] = [[0], [1], [2], [-1], [0, 1], [0, 2], [1, 2], [0, 1, 2], [2, 0]]

    @Test(arguments: axisSets)
    func sumMeanMaxMin(_ axes: [Int]) {
        let values = testValues(60, seed: 21)
        let x = Tensor(values, shape: Self.shape)
        let set = Set(axes.map { $0 < 0 ? $0 + 3 : $0 })
        let squeezed = Self.shape.enumerated().filter { !set.contains($0.offset) }.map(\.element)
        let cases: [(([Double]) -> Double, ([Int]?, Bool) -> Tensor)] = [
            ({ $0.reduce(0, +) }, { x.sum(axes: $0, keepDims: $1) }),
            ({ $0.reduce(0, +) / Double($0.count) }, { x.mean(axes: $0, keepDims: $1) }),
            ({ $0.max()! }, { x.max(axes: $0, keepDims: $1) }),
            ({ $0.min()! }, { x.min(axes: $0, keepDims: $1) }),
        ]
        for (combine, op) in cases {
            let expected = reduceReference(values, Self.shape, axes: set, combine)
            let kept = op(axes, true), dropped = op(axes, false)
            #expect(kept.shape == expected.keptShape)
            #expect(dropped.shape == squeezed)
            assertClose(kept.scalars, expected.values, tolerance: 1e-6)
            assertClose(dropped.scalars, expected.values, tolerance: 1e-6)
        }
    }

    @Test func allAxesByDefault() {
        let values = testValues(60, seed: 22)
        let x = Tensor(values, shape: Self.shape)
        #expect(x.sum().shape == [])
        #expect(Swift.abs(Double(x.sum().item()) - values.map(Double.init).reduce(0, +)) < 1e-5)
        #expect(Swift.abs(x.mean().item() - Float(values.map(Double.init).reduce(0, +) / 60)) < 1e-6)
        #expect(x.max().item() == values.max()!)
        #expect(x.min().item() == values.min()!)
        #expect(x.sum(keepDims: true).shape == [1, 1, 1])
        #expect(x.sum(axis: 1).shape == [3, 5])
    }

    @Test func reductionsOfViews() {
        let values = testValues(60, seed: 23)
        let x = Tensor(values, shape: Self.shape)
        let permuted = x.permute([2, 0, 1])
        let expected = reduceReference(values, Self.shape, axes: [1], { $0.reduce(0, +) })
        // Summing axis 2 of the permuted view = summing axis 1 of the original, laid out [5, 3].
        let viaView = permuted.sum(axis: 2).scalars
        let reordered = (0..<15).map { expected.values[($0 % 3) * 5 + $0 / 3] }
        assertClose(viaView, reordered, tolerance: 1e-6)
    }

    @Test func largeSumIsAccurate() {
        let n = 1_000_003
        let x = Tensor.full([n], 0.1)
        #expect(Swift.abs(x.sum().item() - 100_000.3) < 1)
        let rows = Tensor.ones([1000, 700]).sum(axis: 0)
        expectAll(rows.scalars, "rows.scalars") { $0 == 1000 }
    }

    @Test func argmaxAndArgmin() {
        let x = Tensor([1, 5, 5, -2, 0, 3, 3, -2, -2, 7, 1, 0], shape: [3, 4])
        #expect(x.argmax(axis: 1).toArray(of: Int64.self) == [1, 1, 1])
        // Rows: [1, 5, 5, -2], [0, 3, 3, -2], [-2, 7, 1, 0]; ties resolve to the first index.
        #expect(x.argmin(axis: 1).toArray(of: Int64.self) == [3, 3, 0])
        #expect(x.argmax(axis: 0).toArray(of: Int64.self) == [0, 2, 0, 2])
        #expect(x.argmin(axis: 0).toArray(of: Int64.self) == [2, 1, 2, 0])
        #expect(x.argmax(axis: -1, keepDims: true).shape == [3, 1])
        #expect(x.argmax(axis: 1).dtype == .int64)
        let ints = Tensor([Int32(3), 9, 2, 9], shape: [4])
        #expect(ints.argmax(axis: 0).toArray(of: Int64.self) == [1])
        let values = testValues(60, seed: 24)
        let cube = Tensor(values, shape: [3, 4, 5]).argmax(axis: 1).toArray(of: Int64.self)
        for o in 0..<3 { for i in 0..<5 {
            let column = (0..<4).map { values[(o * 4 + $0) * 5 + i] }
            #expect(cube[o * 5 + i] == Int64(column.firstIndex(of: column.max()!)!))
        } }
    }
}

struct ReductionGradientTests {
    @Test(arguments: [[0], [1], [2], [0, 2], [0, 1, 2]])
    func sumAndMeanGradients(_ axes: [Int]) {
        // Distinct values at least 0.1 apart, so ±eps never changes which element is extreme.
        let x = Tensor(distinctTestValues(24, seed: 25), shape: [2, 3, 4])
        checkGradients([x]) { $0[0].sum(axes: axes) }
        checkGradients([x]) { $0[0].mean(axes: axes, keepDims: true) }
        checkGradients([x]) { $0[0].max(axes: axes) }
        checkGradients([x]) { $0[0].min(axes: axes, keepDims: true) }
    }

    @Test func sumOfProductsGradient() {
        let x = testTensor([3, 4], seed: 26), y = testTensor([4], seed: 27)
        checkGradients([x, y]) { ($0[0] * $0[1]).sum(axis: 1).exp() }
    }

    @Test func maxGradientSplitsTies() {
        let x = Tensor([1, 3, 3, 2, 0, 0], shape: [2, 3]).requiringGrad()
        x.max(axis: 1).sum().backward()
        #expect(x.grad?.scalars == [0, 0.5, 0.5, 1, 0, 0])
        let y = Tensor([4, 4, 4, 4], shape: [4]).requiringGrad()
        y.min().backward()
        #expect(y.grad?.scalars == [0.25, 0.25, 0.25, 0.25])
    }

    @Test func meanGradientIsOneOverCount() {
        let x = Tensor.zeros([4, 5]).requiringGrad()
        x.mean().backward()
        #expect(x.grad?.scalars == [Float](repeating: 0.05, count: 20))
    }
}
