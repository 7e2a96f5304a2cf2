/// How closely a device must reproduce the CPU in one ``OpParityCase``; a run turns each kind
/// into a number through ``OpParityTolerances``.
public enum OpParityPrecision: Sendable {
    /// Bit for bit: comparisons, integer results, selections, copies, fills, conversions and
    /// random bits.
    case exact
    /// A few units in the last place per element: elementwise math (a device's `exp` or `tanh`
    /// may round differently from the host's) and sums of a handful of terms.
    case elementwise
    /// Long sums taken in another order: reductions, matrix products, convolutions, pooling,
    /// normalisations, softmax and losses.
    case accumulated
}

/// The tolerance of each ``OpParityPrecision``: a device value `d` matches the CPU's `c` when
/// `|d - c| <= tolerance * max(1, |c|)` (absolute below magnitude 1, relative above).
public struct OpParityTolerances: Sendable {
    /// The tolerance of ``OpParityPrecision/exact`` cases.
    public var exact: Float
    /// The tolerance of ``OpParityPrecision/elementwise`` cases.
    public var elementwise: Float
    /// The tolerance of ``OpParityPrecision/accumulated`` cases.
    public var accumulated: Float

    /// Tolerances for the three kinds of case.
    public init(exact: Float, elementwise: Float, accumulated: Float) {
        self.exact = exact
        self.elementwise = elementwise
        self.accumulated = accumulated
    }

    /// For a device that runs the CPU's own code (``EmulatedDevice``): exact cases bit for bit,
    /// the rest within 1e-5 (a backward pass may still sum in another order).
    public static let emulated = OpParityTolerances(exact: 0, elementwise: 1e-5, accumulated: 1e-5)

    /// The tolerance for cases of `precision`.
    public subscript(precision: OpParityPrecision) -> Float {
        switch precision {
        case .exact: exact
        case .elementwise: elementwise
        case .accumulated: accumulated
        }
    }
}
