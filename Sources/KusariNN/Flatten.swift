import Kusari

/// Collapses axes `startAxis...endAxis` into one (default: everything but the batch axis).
public final class Flatten: Module, UnaryLayer {
    /// First axis collapsed.
    public let startAxis: Int
    /// Last axis collapsed (negative counts from the end).
    public let endAxis: Int

    /// Collapses `startAxis...endAxis`.
    public init(startAxis: Int = 1, endAxis: Int = -1) {
        self.startAxis = startAxis
        self.endAxis = endAxis
        super.init()
    }

    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.flatten(startAxis: startAxis, endAxis: endAxis) }
}
