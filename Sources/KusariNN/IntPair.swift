/// A pair of per-axis sizes `(height, width)` for convolution and pooling arguments.
///
/// An integer literal sets both axes and a two-element array literal sets each one, so layers
/// read like Chainer's and PyTorch's: `Conv2d(3, 16, kernelSize: 3, stride: [1, 2])`.
public struct IntPair: Equatable, Hashable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral,
    CustomStringConvertible {
    /// Size along the height axis.
    public var height: Int
    /// Size along the width axis.
    public var width: Int

    /// Different sizes per axis.
    public init(_ height: Int, _ width: Int) {
        self.height = height
        self.width = width
    }

    /// The same size on both axes.
    public init(_ both: Int) { self.init(both, both) }

    /// The same size on both axes.
    public init(integerLiteral value: Int) { self.init(value) }

    /// `[height, width]`.
    public init(arrayLiteral elements: Int...) {
        precondition(elements.count == 2, "IntPair needs exactly two values, got \(elements)")
        self.init(elements[0], elements[1])
    }

    /// `[height, width]`, the form the functional ops take.
    public var array: [Int] { [height, width] }

    /// Formats as `(height, width)`.
    public var description: String { "(\(height), \(width))" }
}
