import Kusari

/// The hidden output `h` and cell state `c` of an LSTM, each `[N, hiddenSize]`.
public struct LSTMState {
    /// Hidden output `[N, hiddenSize]`.
    public var h: Tensor
    /// Cell state `[N, hiddenSize]`.
    public var c: Tensor

    /// A state from its two tensors.
    public init(h: Tensor, c: Tensor) {
        self.h = h
        self.c = c
    }
}

/// One step of a fully connected LSTM, laid out exactly like Chainer's `L.LSTM`, so Chainer
/// checkpoints load unchanged.
///
/// Children: `upward` = ``Linear``(inputSize → 4·hiddenSize, with bias) and `lateral` =
/// ``Linear``(hiddenSize → 4·hiddenSize, no bias); each computes all four gates in one product.
/// Their `4·hiddenSize` outputs interleave the gates per unit as Chainer's `F.lstm` reads them:
/// column `4·j + g` is gate `g` of unit `j`, in the order (a, i, f, o):
/// ```
/// a = tanh(·), i = σ(·), f = σ(·), o = σ(·)
/// c' = a·i + f·c,  h' = o·tanh(c')
/// ```
/// Initialisation follows Chainer ≥ 2: LeCun-normal weights, zero bias, and a forget-gate bias
/// of `forgetBias` (0 by default; Chainer 1.x and Jozefowicz et al. use 1).
public class LSTMCell: Module {
    /// Input-to-gates connection, `W` `[4·hidden, input]` and `b` `[4·hidden]`.
    public let upward: Linear
    /// Hidden-to-gates connection, `W` `[4·hidden, hidden]`, no bias.
    public let lateral: Linear
    /// Size of each input vector.
    public let inputSize: Int
    /// Size of `h` and `c`.
    public let hiddenSize: Int

    /// A cell with Chainer's initialisation; `forgetBias` fills the forget-gate entries of `upward.b`.
    public init(_ inputSize: Int, _ hiddenSize: Int, initializer: Initializer = .lecunNormal,
                lateralInitializer: Initializer = .lecunNormal, forgetBias: Float = 0,
                generator: Generator = .default) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        upward = Linear(inputSize, 4 * hiddenSize, initializer: initializer, generator: generator)
        lateral = Linear(hiddenSize, 4 * hiddenSize, bias: false, initializer: lateralInitializer,
                         generator: generator)
        super.init()
        if forgetBias != 0, let bias = upward.b {
            bias.withUnsafeMutableFloats { values in
                for unit in 0..<hiddenSize { values[4 * unit + 2] = forgetBias }
            }
        }
    }

    /// One step from `state` (zeros when `nil`, like Chainer's fresh `L.LSTM`) on input
    /// `x` `[N, inputSize]`; returns the new state.
    public func callAsFunction(_ x: Tensor, state: LSTMState?) -> LSTMState {
        var gates = upward(x)
        if let state { gates = gates + lateral(state.h) }
        let batch = x.shape[0]
        let perUnit = gates.reshape([batch, hiddenSize, 4])
        func gate(_ index: Int) -> Tensor {
            perUnit.slice(axis: 2, start: index, end: index + 1).reshape([batch, hiddenSize])
        }
        let a = gate(0).tanh(), i = gate(1).sigmoid(), f = gate(2).sigmoid(), o = gate(3).sigmoid()
        let c = state.map { a * i + f * $0.c } ?? a * i
        return LSTMState(h: o * c.tanh(), c: c)
    }
}

/// A stateful LSTM layer, like Chainer's `L.LSTM`: ``step(_:)`` feeds one time step and keeps
/// `(h, c)` for the next; ``resetState()`` forgets them. Calling it on a sequence `[T, N, input]`
/// runs all steps from the kept state and returns every output `[T, N, hidden]`, keeping the
/// final state (so a seed window can be fed before rolling predictions forward).
///
/// Parameters are those of ``LSTMCell`` (`upward.W`, `upward.b`, `lateral.W`).
public final class LSTM: LSTMCell, UnaryLayer {
    /// The state after the last step, `nil` before the first one or after ``resetState()``.
    public private(set) var state: LSTMState?

    /// Forgets `h` and `c`; the next step starts from zeros.
    public func resetState() { state = nil }

    /// Replaces the kept state (for example with a detached copy, to truncate back-propagation).
    public func setState(_ newState: LSTMState?) { state = newState }

    /// Feeds one step `x` `[N, input]`, keeps the new state and returns `h` `[N, hidden]`.
    @discardableResult
    public func step(_ x: Tensor) -> Tensor {
        let next = self(x, state: state)
        state = next
        return next.h
    }

    /// `[N, input]` → one ``step(_:)``; `[T, N, input]` → all steps, outputs stacked `[T, N, hidden]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        if x.rank == 2 { return step(x) }
        precondition(x.rank == 3, "LSTM expects [N, input] or [T, N, input], got \(x.shape)")
        let outputs = (0..<x.shape[0]).map { step(x.slice(axis: 0, start: $0, end: $0 + 1).squeeze(axis: 0)) }
        return Tensor.stack(outputs, axis: 0)
    }

    /// Runs a whole sequence `[T, N, input]` from `initialState` (zeros when `nil`) without
    /// touching the kept state; returns the outputs `[T, N, hidden]` and the final state.
    public func forward(sequence x: Tensor, initialState: LSTMState? = nil) -> (output: Tensor, state: LSTMState?) {
        precondition(x.rank == 3, "LSTM sequences are [T, N, input], got \(x.shape)")
        var current = initialState
        var outputs: [Tensor] = []
        for t in 0..<x.shape[0] {
            let next = self(x.slice(axis: 0, start: t, end: t + 1).squeeze(axis: 0), state: current)
            outputs.append(next.h)
            current = next
        }
        return (Tensor.stack(outputs, axis: 0), current)
    }
}
