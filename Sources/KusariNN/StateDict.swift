import Foundation
import Kusari

/// Why ``Module/loadStateDict(_:strict:)`` refused a checkpoint. Nothing is loaded when it is
/// thrown.
public struct StateDictError: Error, CustomStringConvertible, LocalizedError, Sendable {
    /// A tensor whose shape in the checkpoint differs from the model's.
    public struct ShapeMismatch: Sendable, Equatable {
        /// Hierarchical tensor name.
        public let key: String
        /// Shape in the checkpoint.
        public let checkpoint: [Int]
        /// Shape in the model.
        public let model: [Int]

        /// Describes one mismatch.
        public init(key: String, checkpoint: [Int], model: [Int]) {
            self.key = key
            self.checkpoint = checkpoint
            self.model = model
        }
    }

    /// Model tensors the checkpoint lacks (reported only when loading strictly).
    public let missingKeys: [String]
    /// Checkpoint entries the model has no tensor for (reported only when loading strictly).
    public let unexpectedKeys: [String]
    /// Tensors present in both with different shapes (always an error).
    public let shapeMismatches: [ShapeMismatch]

    /// An error with the given findings.
    public init(missingKeys: [String], unexpectedKeys: [String], shapeMismatches: [ShapeMismatch]) {
        self.missingKeys = missingKeys
        self.unexpectedKeys = unexpectedKeys
        self.shapeMismatches = shapeMismatches
    }

    /// One line listing the missing keys, the unexpected keys and each shape mismatch.
    public var description: String {
        var parts: [String] = []
        if !missingKeys.isEmpty { parts.append("missing keys: " + missingKeys.joined(separator: ", ")) }
        if !unexpectedKeys.isEmpty { parts.append("unexpected keys: " + unexpectedKeys.joined(separator: ", ")) }
        if !shapeMismatches.isEmpty {
            let lines = shapeMismatches.map {
                "\($0.key): checkpoint \(Self.format($0.checkpoint)), model \(Self.format($0.model))"
            }
            parts.append("shape mismatches: " + lines.joined(separator: "; "))
        }
        return "cannot load state dict: " + parts.joined(separator: "; ")
    }

    /// Same as ``description``.
    public var errorDescription: String? { description }

    static func format(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ",") + "]" }
}

extension Module {
    /// Parameters and buffers with their hierarchical names, in declaration order: everything a
    /// checkpoint of this module holds.
    public func stateDict() -> [(String, Tensor)] {
        var result: [(String, Tensor)] = []
        forEachTensor { name, tensor in result.append((name, tensor)) }
        return result
    }

    /// Copies checkpoint values into this module's parameters and buffers, in place.
    ///
    /// Every shape must match. With `strict` (the default) the checkpoint's keys must be exactly
    /// the model's; otherwise missing and unexpected keys are ignored. Integer/float dtypes are
    /// converted to the model's. On any error nothing is modified.
    /// - Throws: ``StateDictError`` listing the missing keys, unexpected keys and shape mismatches.
    public func loadStateDict(_ state: [(String, Tensor)], strict: Bool = true) throws {
        var values: [String: Tensor] = [:]
        var order: [String] = []
        for (key, tensor) in state {
            if values.updateValue(tensor, forKey: key) == nil { order.append(key) }
        }
        try loadStateDict(values, keyOrder: order, strict: strict)
    }

    /// Copies checkpoint values into this module's parameters and buffers; the same checks
    /// as the overload taking name–tensor pairs (keys are reported in sorted order).
    public func loadStateDict(_ state: [String: Tensor], strict: Bool = true) throws {
        try loadStateDict(state, keyOrder: state.keys.sorted(), strict: strict)
    }

    private func loadStateDict(_ values: [String: Tensor], keyOrder: [String], strict: Bool) throws {
        let own = stateDict()
        let ownKeys = Set(own.map { $0.0 })
        var missing: [String] = []
        var mismatches: [StateDictError.ShapeMismatch] = []
        var assignments: [(Tensor, Tensor)] = []
        for (key, tensor) in own {
            guard let value = values[key] else { missing.append(key); continue }
            if value.shape != tensor.shape {
                mismatches.append(.init(key: key, checkpoint: value.shape, model: tensor.shape))
            } else {
                assignments.append((tensor, value))
            }
        }
        let unexpected = keyOrder.filter { !ownKeys.contains($0) }
        if !mismatches.isEmpty || (strict && (!missing.isEmpty || !unexpected.isEmpty)) {
            throw StateDictError(missingKeys: strict ? missing : [], unexpectedKeys: strict ? unexpected : [],
                                 shapeMismatches: mismatches)
        }
        withNoGrad {
            for (target, value) in assignments {
                target.assign(value.dtype == target.dtype ? value : value.to(target.dtype))
            }
        }
    }
}
