import Kusari

/// Runs unary layers one after another; its children are named by position (`0.W`, `1.W`, …).
public final class Sequential: Module, UnaryLayer {
    /// The layers, in order.
    public private(set) var layers: [any UnaryLayer]

    /// A chain of `layers`, applied first to last.
    public init(_ layers: [any UnaryLayer]) {
        self.layers = layers
        super.init()
    }

    /// A chain of `layers`, applied first to last.
    public convenience init(_ layers: any UnaryLayer...) { self.init(layers) }

    /// Adds a layer at the end.
    public func append(_ layer: any UnaryLayer) { layers.append(layer) }

    /// Number of layers.
    public var count: Int { layers.count }

    /// The layer at `index`.
    public subscript(index: Int) -> any UnaryLayer { layers[index] }

    override func members() -> [Member] {
        layers.enumerated().map { .module(String($0.offset), $0.element) }
    }

    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        layers.reduce(x) { $1($0) }
    }
}

/// Wraps a parameter-free function as a layer, for example `Lambda { $0.flatten() }` inside a
/// ``Sequential``.
public final class Lambda: Module, UnaryLayer {
    private let body: (Tensor) -> Tensor

    /// A layer applying `body`.
    public init(_ body: @escaping (Tensor) -> Tensor) {
        self.body = body
        super.init()
    }

    /// Applies the layer to `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor { body(x) }
}
