/// An n-dimensional array with define-by-run automatic differentiation.
///
/// A tensor is a view (shape, strides, offset) onto a shared ``Storage``. Tensors are
/// reference types, like PyTorch's: gradients accumulate into ``grad`` of leaf tensors created
/// with `requiresGrad`, and every op on tensors that require gradients records how to
/// back-propagate through it.
public final class Tensor: @unchecked Sendable {
    /// The buffer this tensor views (replaced only by ``moveData(to:)``).
    public internal(set) var storage: Storage
    /// Size along each axis.
    public let shape: [Int]
    /// Distance in elements between neighbours along each axis (meaningless for blocked storage).
    public internal(set) var strides: [Int]
    /// Index of the first element in the storage, in elements.
    public internal(set) var offset: Int
    /// Element type.
    public let dtype: DType
    /// Where the data lives (its storage's device).
    public var device: Device { storage.device }

    /// Whether gradients flow to this tensor. Setting it is only meaningful on leaves.
    public var requiresGrad: Bool
    /// Accumulated gradient of a leaf tensor after ``backward(_:)``.
    public var grad: Tensor?
    /// The recorded backward step that produced this tensor, `nil` for leaves.
    var gradNode: GradNode?

    init(storage: Storage, shape: [Int], strides: [Int]? = nil, offset: Int = 0, dtype: DType,
         requiresGrad: Bool = false) {
        self.storage = storage
        self.shape = shape
        self.strides = strides ?? Shape.contiguousStrides(shape)
        self.offset = offset
        self.dtype = dtype
        self.requiresGrad = requiresGrad
    }

    /// An uninitialised contiguous tensor.
    public convenience init(uninitializedShape shape: [Int], dtype: DType = .float32) {
        let storage = Storage(byteCount: Shape.count(shape) * dtype.byteSize)
        self.init(storage: storage, shape: shape, dtype: dtype)
    }

    /// Number of axes.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { Shape.count(shape) }
    /// Whether this tensor is a leaf of the autodiff graph (created by the user, not by an op).
    public var isLeaf: Bool { gradNode == nil }
    /// Whether the data is plain row-major and densely packed starting at ``offset``.
    public var isContiguous: Bool {
        guard storage.blockedLayout == nil else { return false }
        var expected = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// A tensor sharing this one's data, cut off from the autodiff graph.
    public func detach() -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset, dtype: dtype)
    }

    /// Marks this leaf as requiring gradients and returns it (builder style).
    @discardableResult
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        requiresGrad = flag
        return self
    }

    /// Clears the accumulated gradient.
    public func zeroGrad() { grad = nil }

    /// Typed pointer to the first element; the tensor must be plain (see ``contiguous()``) and in
    /// host memory.
    func pointer<T>(as type: T.Type) -> UnsafeMutablePointer<T> {
        rawData.assumingMemoryBound(to: T.self)
    }

    /// Host address of the first element. Device tensors stop here with a clear message: the
    /// CPU kernels cannot read GPU memory.
    var rawData: UnsafeMutableRawPointer {
        require(storage.device == .cpu, "this operation runs on the CPU, but the tensor is on \(storage.device); "
                + "GPU versions of the ops are not available yet, move it with .to(device: .cpu)")
        return storage.data + offset * dtype.byteSize
    }

    /// Float pointer to the first element of a plain tensor.
    var floats: UnsafeMutablePointer<Float> { pointer(as: Float.self) }
}
