import Foundation
import Kusari

/// Encodings of non-tensor values in state dicts (`[(String, Tensor)]`), shared by the trainer
/// and its extensions so that every piece of a snapshot is an `.npz` member:
/// - integers are int64 scalars;
/// - doubles are int64 scalars holding the IEEE-754 bit pattern, so they come back exactly
///   (read them in NumPy with `a.view(np.float64)`);
/// - text (JSON) is a uint8 vector of UTF-8 bytes (`bytes(a).decode()`).
enum StateCoding {
    static func int(_ value: Int) -> Tensor { Tensor([Int64(value)], shape: []) }

    static func double(_ value: Double) -> Tensor { Tensor([Int64(bitPattern: value.bitPattern)], shape: []) }

    static func doubles(_ values: [Double], shape: [Int]? = nil) -> Tensor {
        Tensor(values.map { Int64(bitPattern: $0.bitPattern) }, shape: shape ?? [values.count])
    }

    static func text(_ value: String) -> Tensor {
        let bytes = Array(value.utf8)
        return Tensor(bytes, shape: [bytes.count])
    }

    /// The integer stored in a one-element tensor of any dtype.
    static func int(_ tensor: Tensor, key: String) throws -> Int {
        guard tensor.count == 1 else { throw TrainerStateError("\(key): expected a scalar, found shape \(tensor.shape)") }
        switch tensor.dtype {
        case .int64: return Int(tensor.toArray(of: Int64.self)[0])
        case .int32: return Int(tensor.toArray(of: Int32.self)[0])
        case .uint8: return Int(tensor.toArray(of: UInt8.self)[0])
        case .float32, .float16, .bfloat16:
            let value = tensor.item()
            guard value.isFinite, value == value.rounded() else {
                throw TrainerStateError("\(key): expected an integer, found \(value)")
            }
            return Int(value)
        }
    }

    /// A double stored by ``double(_:)`` (or, less exactly, as a float32 scalar).
    static func double(_ tensor: Tensor, key: String) throws -> Double {
        guard tensor.count == 1 else { throw TrainerStateError("\(key): expected a scalar, found shape \(tensor.shape)") }
        return try doubles(tensor, key: key)[0]
    }

    static func doubles(_ tensor: Tensor, key: String) throws -> [Double] {
        switch tensor.dtype {
        case .int64: return tensor.toArray(of: Int64.self).map { Double(bitPattern: UInt64(bitPattern: $0)) }
        case .float32: return tensor.toArray(of: Float.self).map { Double($0) }
        default: throw TrainerStateError("\(key): expected int64 bit patterns of doubles, found \(tensor.dtype)")
        }
    }

    static func text(_ tensor: Tensor, key: String) throws -> String {
        guard tensor.dtype == .uint8, tensor.rank <= 1 else {
            throw TrainerStateError("\(key): expected a uint8 vector of UTF-8 text, found \(tensor.dtype) \(tensor.shape)")
        }
        guard let text = String(bytes: tensor.toArray(of: UInt8.self), encoding: .utf8) else {
            throw TrainerStateError("\(key): the bytes are not valid UTF-8")
        }
        return text
    }

    /// The entries of `state` whose key starts with `prefix`, with the prefix removed, in order.
    static func section(_ state: [(String, Tensor)], _ prefix: String) -> [(String, Tensor)] {
        state.compactMap { key, tensor in key.hasPrefix(prefix) ? (String(key.dropFirst(prefix.count)), tensor) : nil }
    }

    /// `state` with every key prefixed by `prefix`.
    static func prefixed(_ prefix: String, _ state: [(String, Tensor)]) -> [(String, Tensor)] {
        state.map { (prefix + $0.0, $0.1) }
    }

    /// The value stored under `key`, or an error naming it.
    static func require(_ state: [(String, Tensor)], _ key: String, in owner: String) throws -> Tensor {
        guard let tensor = state.first(where: { $0.0 == key })?.1 else {
            throw TrainerStateError("\(owner): the state has no entry '\(key)'")
        }
        return tensor
    }

    static func lookup(_ state: [(String, Tensor)], _ key: String) -> Tensor? {
        state.first(where: { $0.0 == key })?.1
    }
}
