import Kusari

extension Module {
    /// Moves every parameter and buffer of this module and its descendants to `device`, in place,
    /// like PyTorch's `module.to(device)`: the tensors keep their identity (optimizers and
    /// parameter averages holding them see the moved values), and gradients they hold move too.
    ///
    /// Tensors already on `device` are left alone. Checkpoints of a moved model still hold host
    /// data (``stateDict()`` values are downloaded when written), and ``load(from:prefix:strict:)``
    /// keeps the model where it is.
    /// - Throws: `KusariError.unsupportedDevice` when no backend serves `device`, or the backend's
    ///   error when memory runs out; tensors moved before the error stay moved.
    public func move(to device: Device) throws {
        var tensors: [Tensor] = []
        forEachTensor { _, tensor in tensors.append(tensor) }
        for tensor in tensors { try tensor.moveData(to: device) }
    }

    /// Where the module's parameters live: the device of the first parameter, or `.cpu` for a
    /// module without parameters.
    public var device: Device { parameters().first?.device ?? .cpu }
}
