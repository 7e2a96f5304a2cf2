import Foundation
import Kusari

/// Dynamic loss scaling for float16 mixed-precision training, like PyTorch's
/// `torch.amp.GradScaler` (and Apex's dynamic loss scaler).
///
/// Float16 gradients underflow to zero below about 6·10⁻⁸. Back-propagating the loss multiplied
/// by ``scale`` shifts every gradient up by the same factor; ``step(_:)`` then checks that all
/// gradients are finite, steps the optimizer with them divided by ``scale`` (at no extra cost:
/// ``Optimizer/step(gradientScale:)``), and adapts the scale:
/// - a non-finite gradient (inf or NaN) skips the step — weights and optimizer state stay as
///   they were — and multiplies the scale by ``backoffFactor``;
/// - after ``growthInterval`` finite steps in a row the scale is multiplied by ``growthFactor``.
///
/// A training step reads:
/// ```swift
/// optimizer.zeroGrad()
/// let loss = Autocast.run(.float16) { softmaxCrossEntropy(model(x), t) }
/// scaler.scaled(loss).backward()
/// scaler.step(optimizer)
/// ```
/// With the defaults the scale is always a power of two, so unscaling is exact. Bfloat16 has
/// float32's exponent range and needs no scaler.
public final class DynamicLossScaler {
    /// The factor the loss is multiplied by before back-propagation (65536 at first).
    public private(set) var scale: Float
    /// The scale a fresh scaler starts from (and ``reset()`` returns to).
    public let initialScale: Float
    /// Factor applied to ``scale`` after ``growthInterval`` consecutive finite steps (2).
    public let growthFactor: Float
    /// Factor applied to ``scale`` when a gradient is not finite (0.5).
    public let backoffFactor: Float
    /// Consecutive finite steps after which ``scale`` grows (2000).
    public let growthInterval: Int
    /// Finite steps since the scale last changed (PyTorch's growth tracker).
    public private(set) var growthTracker = 0
    /// Steps skipped so far because a gradient was not finite.
    public private(set) var skippedSteps = 0

    /// Creates a scaler with PyTorch `GradScaler`'s defaults.
    /// - Parameters:
    ///   - initialScale: the first ``scale``, finite and positive (default 65536 = 2¹⁶).
    ///   - growthFactor: see ``growthFactor``; greater than 1 (default 2).
    ///   - backoffFactor: see ``backoffFactor``; in (0, 1) (default 0.5).
    ///   - growthInterval: see ``growthInterval``; positive (default 2000).
    public init(initialScale: Float = 65536, growthFactor: Float = 2, backoffFactor: Float = 0.5,
                growthInterval: Int = 2000) {
        let problems = Settings(initialScale: initialScale, growthFactor: growthFactor, backoffFactor: backoffFactor,
                                growthInterval: growthInterval).problems
        precondition(problems.isEmpty, "DynamicLossScaler: " + problems.joined(separator: "; "))
        self.scale = initialScale
        self.initialScale = initialScale
        self.growthFactor = growthFactor
        self.backoffFactor = backoffFactor
        self.growthInterval = growthInterval
    }

    /// `loss · scale`, to back-propagate instead of `loss`.
    public func scaled(_ loss: Tensor) -> Tensor {
        loss * scale
    }

    /// Steps `optimizer` with its gradients divided by ``scale`` when they are all finite, skips
    /// the step otherwise, then updates ``scale`` (see the type's description).
    ///
    /// The check costs one pass over the gradients: host gradients are scanned directly; the
    /// gradients on each device are reduced to one value there, read back once per device.
    /// - Returns: whether the optimizer stepped.
    @discardableResult
    public func step(_ optimizer: Optimizer) -> Bool {
        let finite = OptimKernels.allFinite(optimizer.entries.compactMap { $0.parameter.grad })
        if finite {
            optimizer.step(gradientScale: 1 / scale)
            growthTracker += 1
            if growthTracker >= growthInterval {
                let grown = scale * growthFactor
                // Like PyTorch, a scale that would overflow stays where it is.
                if grown.isFinite { scale = grown }
                growthTracker = 0
            }
        } else {
            skippedSteps += 1
            // Floored at the smallest normal float so that 1/scale stays finite.
            scale = max(scale * backoffFactor, Float.leastNormalMagnitude)
            growthTracker = 0
        }
        return finite
    }

    /// Returns to the initial state: ``scale`` = ``initialScale``, no finite or skipped steps.
    public func reset() {
        scale = initialScale
        growthTracker = 0
        skippedSteps = 0
    }

    // MARK: - Checkpoints

    /// The scaler's state for checkpoints: `scale` (float32 scalar), `growth_tracker` and
    /// `skipped_steps` (int64 scalars). The factors and interval are configuration, not state.
    public func stateDict() -> [(String, Tensor)] {
        [("scale", Tensor(scalar: scale)),
         ("growth_tracker", Tensor([Int64(growthTracker)], shape: [])),
         ("skipped_steps", Tensor([Int64(skippedSteps)], shape: []))]
    }

    /// Restores a state saved by ``stateDict()``. Scalars may have shape `[]` or `[1]`; the scale
    /// may be stored in any float or integer dtype, the counts as integers (or integral floats).
    /// - Throws: ``LossScalerStateError`` naming missing or unknown keys and invalid values
    ///   (a scale that is not a finite positive normal float, a negative or fractional count);
    ///   nothing is modified then.
    public func loadStateDict(_ state: [(String, Tensor)]) throws {
        let keys = ["scale", "growth_tracker", "skipped_steps"]
        var values: [String: Tensor] = [:]
        var problems: [String] = []
        for (key, tensor) in state {
            if !keys.contains(key) {
                problems.append("unexpected key '\(key)'")
            } else if values.updateValue(tensor, forKey: key) != nil {
                problems.append("duplicate key '\(key)'")
            }
        }
        func number(_ key: String) -> Double? {
            guard let tensor = values[key] else {
                problems.append("missing key '\(key)'")
                return nil
            }
            guard tensor.count == 1 else {
                problems.append("'\(key)' must be a scalar, found shape \(tensor.shape)")
                return nil
            }
            switch tensor.dtype {
            case .int64: return Double(tensor.toArray(of: Int64.self)[0])
            case .int32: return Double(tensor.toArray(of: Int32.self)[0])
            case .uint8: return Double(tensor.toArray(of: UInt8.self)[0])
            case .float32, .float16, .bfloat16: return Double(tensor.item())
            }
        }
        func count(_ key: String) -> Int? {
            guard let value = number(key) else { return nil }
            guard value >= 0, value == value.rounded(), value < 9e15 else {
                problems.append("'\(key)' must be a non-negative integer, found \(value)")
                return nil
            }
            return Int(value)
        }
        let newScale = number("scale").map { Float($0) }
        if let newScale, !(newScale.isNormal && newScale > 0) {
            problems.append("'scale' must be a finite positive number, found \(newScale)")
        }
        let tracker = count("growth_tracker"), skipped = count("skipped_steps")
        guard problems.isEmpty, let newScale, let tracker, let skipped else {
            throw LossScalerStateError(problems: problems)
        }
        scale = newScale
        growthTracker = tracker
        skippedSteps = skipped
    }
}

/// Why ``DynamicLossScaler/loadStateDict(_:)`` refused a state; nothing is loaded when it is
/// thrown.
public struct LossScalerStateError: Error, CustomStringConvertible, LocalizedError, Sendable {
    /// Every problem found, one phrase each (missing and unknown keys, invalid values).
    public let problems: [String]

    /// Creates an error record.
    public init(problems: [String]) {
        self.problems = problems
    }

    /// `cannot load loss-scaler state: missing key 'scale'; …`.
    public var description: String {
        "cannot load loss-scaler state: " + problems.joined(separator: "; ")
    }

    /// The same text as ``description``.
    public var errorDescription: String? { description }
}

extension OptimKernels {
    /// Whether every element of every tensor of `gradients` is finite: host tensors are scanned
    /// directly; the gradients on each device are scanned there and one value per device is read
    /// back: a flag from one read-only pass per gradient where the backend provides
    /// ``Kusari/FusedOptimizerOperations/nonFiniteFlag(_:)`` (and the gradients are contiguous
    /// float32), otherwise the sum of `g · 0` over its gradients (zero unless some element is
    /// infinite or NaN).
    static func allFinite(_ gradients: [Tensor]) -> Bool {
        var finite = true
        var onDevices: [Device: [Tensor]] = [:]
        for gradient in gradients {
            if gradient.device == .cpu {
                if finite { finite = gradient.withUnsafeFloats { allFinite($0) } }
            } else {
                onDevices[gradient.device, default: []].append(gradient)
            }
        }
        guard finite else { return false }
        return onDevices.values.allSatisfy(allFiniteOnDevice)
    }

    /// Whether every element of `gradients`, all on one device, is finite (see
    /// ``allFinite(_:)-swift.type.method``); waits for the device.
    private static func allFiniteOnDevice(_ gradients: [Tensor]) -> Bool {
        if let backend = DeviceBackends.backend(for: gradients[0].device) as? any FusedOptimizerOperations,
           gradients.allSatisfy({ (try? backend.checkFiniteScanOperand($0)) != nil }) {
            // The operands are checked, so an error here means the device itself failed.
            do {
                return try backend.nonFiniteFlag(gradients).item() == 0
            } catch {
                fatalError("DynamicLossScaler: the finite check failed on \(gradients[0].device): \(error)")
            }
        }
        return withNoGrad {
            gradients.dropFirst().reduce((gradients[0] * 0).sum()) { $0 + ($1 * 0).sum() }.item().isFinite
        }
    }

    /// Whether every element of `buffer` is finite: `x − x` is 0 for a finite `x` and NaN for an
    /// infinite or NaN one, summed in SIMD lanes (split across threads for large buffers).
    static func allFinite(_ buffer: UnsafeBufferPointer<Float>) -> Bool {
        let count = buffer.count
        guard count > 0, let base = buffer.baseAddress else { return true }
        let chunks = min(Threading.threadCount, max(1, count / grain))
        if chunks == 1 { return allFinite(base, 0..<count) }
        let size = (count + chunks - 1) / chunks
        var results = [Bool](repeating: true, count: chunks)
        results.withUnsafeMutableBufferPointer { results in
            let output = results.baseAddress!
            // One task per chunk, so each writes its own slot whatever the thread split.
            Threading.parallelFor(chunks, grain: 1) { first, last in
                for chunk in first..<last {
                    output[chunk] = allFinite(base, (chunk * size)..<min(count, (chunk + 1) * size))
                }
            }
        }
        return !results.contains(false)
    }

    private static func allFinite(_ x: UnsafePointer<Float>, _ range: Range<Int>) -> Bool {
        var lanes = SIMD8<Float>()
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            lanes += v - v
            i += 8
        }
        var total = lanes.sum()
        while i < range.upperBound {
            total += x[i] - x[i]
            i += 1
        }
        return total == 0
    }
}
