import Kusari

/// One op of the core run on the CPU and on a device by ``OpParity/check(_:on:tolerances:)``:
/// its CPU inputs, the op, how closely the device must agree, and the ``DeviceOperations``
/// methods it is meant to reach (a hint that only a device counting its calls, like
/// ``EmulatedDevice``, can check).
public struct OpParityCase {
    /// A name unique in ``OpParityCatalogue``, e.g. `"grouped strided padded dilated conv2d"`.
    public let name: String
    /// The ``DeviceOperations`` methods the op must call on a device (`"binary"`,
    /// `"convolutionBackward"`, …); empty for ops that run through host copies.
    public let methods: [String]
    /// How closely the device must reproduce the CPU.
    public let precision: OpParityPrecision
    /// The inputs, on the CPU; float32 ones require gradients in a run.
    public let inputs: [Tensor]
    /// The op, given the inputs on the device under test (or the CPU).
    public let op: (OpParityContext) throws -> Tensor

    /// A case named `name` that runs `op` on `inputs` and should call `methods` on a device.
    public init(_ name: String, calls methods: [String], _ precision: OpParityPrecision, inputs: [Tensor] = [],
                op: @escaping (OpParityContext) throws -> Tensor) {
        self.name = name
        self.methods = methods
        self.precision = precision
        self.inputs = inputs
        self.op = op
    }
}

/// What a case's op sees in one run: its inputs moved to the device under test, that device,
/// and ways to hand the runner more to compare than the op's result.
public final class OpParityContext {
    /// The case's inputs on ``device``, as fresh leaves (float32 ones require gradients).
    public let inputs: [Tensor]
    /// The device of this run (`.cpu` for the reference run).
    public let device: Device
    /// Tensors passed to ``observe(_:)``, in order.
    public private(set) var observed: [Tensor] = []
    /// Generators made by ``generator(seed:offset:)``, in order.
    public private(set) var generators: [Generator] = []

    /// A context for running an op on `inputs`, which are on `device`.
    public init(inputs: [Tensor], device: Device) {
        self.inputs = inputs
        self.device = device
    }

    /// Input `index`.
    public subscript(index: Int) -> Tensor { inputs[index] }

    /// Adds `tensor` (e.g. running statistics the op updates in place) to what the runner
    /// compares, after the op and its backward pass.
    public func observe(_ tensor: Tensor) {
        observed.append(tensor)
    }

    /// A new generator seeded with `seed` whose stream starts at block `offset`; the runner
    /// checks that it ends in the same state on the device as on the CPU.
    public func generator(seed: UInt64, offset: UInt64 = 0) -> Generator {
        let generator = Generator(seed: seed)
        generator.state = (seed, offset)
        generators.append(generator)
        return generator
    }
}
