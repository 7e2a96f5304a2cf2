import Foundation
import Kusari

extension CUDABackend {
    /// Values of `distribution` from the Philox stream keyed by `key`, starting at block
    /// `offset` (the blocks the generator reserved), bit for bit as the CPU draws them (see
    /// ``KernelSource/random``): uniform, normal and Bernoulli values are float32, four per
    /// block; integers are int64 or int32, two per block.
    /// - Throws: ``Kusari/KusariError/invalidArgument(_:)`` for a dtype the distribution does
    ///   not produce or parameters the CPU rejects (`low > high`, a negative standard deviation,
    ///   a probability outside [0, 1], an empty or unrepresentable integer range);
    ///   ``CUDAError`` when the launch fails.
    public func random(_ distribution: RandomDistribution, shape: [Int], dtype: DType, key: UInt64,
                       offset: UInt64) throws -> Tensor {
        let parameters: [KernelArgument], name: String, perBlock: Int
        if case .integers = distribution {
            try Self.expect(dtype == .int64 || dtype == .int32, "randint gives int64 or int32 values, not \(dtype)")
        } else {
            try Self.expect(dtype == .float32, "random: \(distribution) gives float32 values, not \(dtype)")
        }
        switch distribution {
        case .uniform(let low, let high):
            try Self.expect(low <= high, "uniform: low \(low) is above high \(high)")
            (name, perBlock) = ("kusari_philox_uniform_f32", 4)
            parameters = [.float(low), .float(high - low), .float(high > low ? high.nextDown : low)]
        case .normal(let mean, let std):
            try Self.expect(std >= 0, "normal: negative standard deviation \(std)")
            (name, perBlock) = ("kusari_philox_normal_f32", 4)
            parameters = [.float(mean), .float(std)]
        case .bernoulli(let probability, let value):
            try Self.expect(probability >= 0 && probability <= 1,
                            "bernoulli: probability \(probability) is outside [0, 1]")
            (name, perBlock) = ("kusari_philox_bernoulli_f32", 4)
            parameters = [.float(probability), .float(value)]
        case .integers(let low, let high):
            try Self.expect(low < high, "randint: empty range [\(low), \(high))")
            try Self.expect(dtype == .int64 || (low >= Int(Int32.min) && high - 1 <= Int(Int32.max)),
                            "randint: range [\(low), \(high)) does not fit dtype \(dtype)")
            (name, perBlock) = ("kusari_philox_randint_\(Self.suffix(dtype))", 2)
            parameters = [.int64(Int64(low)), .uint64(UInt64(bitPattern: Int64(high) &- Int64(low)))]
        }
        try Self.expect(shape.allSatisfy { $0 >= 0 }, "random: negative size in shape \(shape)")
        let result = try Tensor(uninitializedShape: shape, dtype: dtype, on: self)
        let count = result.count
        guard count > 0 else { return result }
        try launch(name, in: .random, count: (count + perBlock - 1) / perBlock,
                   [.pointer(Self.address(result)), .count(count), .uint64(key), .uint64(offset)] + parameters)
        return result
    }

    /// Throws ``Kusari/KusariError/invalidArgument(_:)`` with `message` unless `condition` holds.
    private static func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw KusariError.invalidArgument(message()) }
    }
}
