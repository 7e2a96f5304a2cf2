import Foundation
import Kusari

extension Module {
    /// Writes ``stateDict()`` to an `.npz` archive (readable with `numpy.load`), one member per
    /// tensor named by its hierarchical name, atomically.
    ///
    /// - Parameter compressed: deflate the members, like `numpy.savez_compressed`.
    /// - Throws: `SerializationError` when the file cannot be written.
    public func save(to url: URL, compressed: Bool = false) throws {
        let arrays = stateDict().map { (name: $0.0, array: $0.1.npyArray) }
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
            state.append((key, Tensor(npy: array)))
        }
        try loadStateDict(state, strict: strict)
    }

    /// A key with separators unified and case and underscores ignored.
    private static func foldedKey(_ key: String) -> String {
        key.replacingOccurrences(of: "/", with: ".").replacingOccurrences(of: "_", with: "").lowercased()
    }
}
