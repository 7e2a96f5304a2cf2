import Foundation
import Kusari

extension Module {
    /// Writes ``stateDict()`` to an `.npz` archive (readable with `numpy.load`), one member per
    /// tensor named by its hierarchical name, atomically.
    ///
    /// - Parameter compressed: deflate the members, like `numpy.savez_compressed`.
    /// - Throws: `SerializationError` when the file cannot be written.
    public func save(to url: URL, compressed: Bool = false) throws {
        let arrays = stateDict().map { (name: $0.0, array: npyArray(from: $0.1)) }
        try NPZ.write(arrays, to: url, compressed: compressed)
    }

    /// Loads parameters and buffers from an `.npz` archive written by ``save(to:compressed:)``,
    /// by PyTorch-style tools, or by Chainer's `save_npz`.
    ///
    /// Keys are matched exactly first. A key that does not match is then compared in Chainer's
    /// spelling: `/` separators and snake_case (`conv_ff/W`, `bn/avg_mean`) match `.` and
    /// camelCase (`convFF.W`, `bn.avgMean`) when that comparison is unambiguous. Float64 and
    /// integer arrays are converted to the model's dtypes.
    ///
    /// - Parameters:
    ///   - prefix: only archive members whose name starts with `prefix` are used, with the prefix
    ///     removed (Chainer's `path`, e.g. `"predictor/"` or `"updater/model:main/predictor/"`).
    ///   - strict: require the archive's keys to be exactly the model's, as
    ///     `loadStateDict(_:strict:)` does; Chainer archives carry extras such as BatchNorm's
    ///     `N`, so load those with `strict: false`.
    /// - Throws: `SerializationError` for unreadable files, ``StateDictError`` for mismatches.
    public func load(from url: URL, prefix: String = "", strict: Bool = true) throws {
        let own = stateDict()
        let ownKeys = Set(own.map { $0.0 })
        var loose: [String: String?] = [:]  // spelling-insensitive key → model key (nil when ambiguous)
        for (key, _) in own {
            let folded = Module.foldedKey(key)
            loose[folded] = loose[folded] == nil ? key : .some(nil)
        }
        var state: [(String, Tensor)] = []
        for (name, array) in try NPZ.readOrdered(from: url) where name.hasPrefix(prefix) {
            var key = String(name.dropFirst(prefix.count))
            if !ownKeys.contains(key), let match = loose[Module.foldedKey(key)], let match { key = match }
            state.append((key, try tensor(from: array, name: name)))
        }
        try loadStateDict(state, strict: strict)
    }

    /// A key with separators unified and case and underscores ignored.
    private static func foldedKey(_ key: String) -> String {
        key.replacingOccurrences(of: "/", with: ".").replacingOccurrences(of: "_", with: "").lowercased()
    }
}

/// The `.npy` form of a tensor (float32, int32, int64 or uint8), in row-major order.
private func npyArray(from tensor: Tensor) -> NPYArray {
    switch tensor.dtype {
    case .float32: return NPYArray(floats: tensor.toArray(of: Float.self), shape: tensor.shape)
    case .int32: return NPYArray(int32s: tensor.toArray(of: Int32.self), shape: tensor.shape)
    case .int64: return NPYArray(int64s: tensor.toArray(of: Int64.self), shape: tensor.shape)
    case .uint8: return NPYArray(uint8s: tensor.toArray(of: UInt8.self), shape: tensor.shape)
    }
}

/// A tensor holding an `.npy` array: floats become float32, booleans uint8, integers keep their width.
private func tensor(from array: NPYArray, name: String) throws -> Tensor {
    switch array.dtype {
    case .float32, .float64: return Tensor(array.floats, shape: array.shape)
    case .uint8, .bool: return Tensor(array.bytes, shape: array.shape)
    case .int32, .int64:
        guard let values = array.int64s else {
            throw KusariError.invalidArgument("checkpoint entry \(name) has unreadable integer data")
        }
        return array.dtype == .int32 ? Tensor(values.map { Int32($0) }, shape: array.shape)
            : Tensor(values, shape: array.shape)
    }
}
