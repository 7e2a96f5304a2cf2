import Foundation
import Kusari
import KusariNN

/// An exponential moving average of a model's parameters, used for evaluation: TensorFlow's
/// `tf.train.ExponentialMovingAverage(decay, num_updates)` as in the CIFAR-10 tutorial (decay
/// 0.9999, `num_updates = global_step`), which gains about 3 % top-1 accuracy there.
///
/// Each parameter `p` has a shadow `s`, starting as a copy of `p` when the average is created.
/// ``update()``, called after every optimizer step, counts the step (`t ← t + 1`, so `t` is the
/// number of optimizer steps including this one, like TensorFlow's `global_step` read after
/// `apply_gradients`) and moves every shadow towards its parameter:
/// ```
/// d = min(decay, (1 + t) / (10 + t))      // just `decay` when usesNumUpdates is false
/// s ← s − (1 − d) · (s − p)
/// ```
/// in float32, TensorFlow's order of operations. The `min` makes early averages follow the
/// parameters closely instead of remembering the random initial values.
///
/// ``withAveragedParameters(_:_:)`` puts the averages into the model for evaluation and restores
/// the trained values afterwards, bit for bit. Only parameters are averaged; buffers such as
/// BatchNorm's running statistics are used as they are (TensorFlow averages trainable variables).
///
/// The state for snapshots is ``stateDict()``: the step count and the shadows.
///
/// **On a GPU** each shadow lives on its parameter's device and is updated and swapped there with
/// tensor ops (the same float32 operations, so the averages match the CPU's); when the model moves
/// (``KusariNN/Module/move(to:)``) the shadows follow it at the next use.
///
/// **With a trainer**, register it as an extension and let the evaluator use it:
/// ```swift
/// let ema = ParameterEMA(model, decay: 0.9999)
/// trainer.extend(ema)                      // update() after every optimizer step
/// ema.useForEvaluation(evaluator)          // validation runs on the averages
/// ```
/// It runs every iteration with a priority above ``ExtensionPriority/writer``, so the averages
/// are up to date before evaluators of the same iteration, and its state goes into snapshots.
public final class ParameterEMA: Extension {
    /// The decay rate (TensorFlow's `decay`; the tutorial's `MOVING_AVERAGE_DECAY` is 0.9999).
    public let decay: Float
    /// Whether the decay is capped by `(1 + t) / (10 + t)` (TensorFlow's `num_updates`).
    public let usesNumUpdates: Bool
    /// The averaged parameters with their names, as given.
    public let namedParameters: [(String, Tensor)]
    /// Number of ``update()`` calls so far (`t`; saved as `numUpdates`).
    public private(set) var updateCount: Int = 0

    /// One contiguous float32 shadow per parameter, in the order of ``namedParameters``, on the
    /// parameter's device.
    private let shadows: [Tensor]
    /// Whether the averages are currently swapped into the parameters.
    public private(set) var isSwappedIn = false

    /// Starts averaging `parameters` (float32 tensors), with shadows equal to their current values.
    /// - Parameters:
    ///   - decay: the decay rate, in `0..<1` (default 0.9999).
    ///   - usesNumUpdates: cap the decay by `(1 + t) / (10 + t)` (default `true`).
    public init(parameters: [(String, Tensor)], decay: Float = 0.9999, usesNumUpdates: Bool = true) {
        precondition(decay >= 0 && decay < 1, "ParameterEMA: decay \(decay) must be in 0..<1")
        var seen = Set<ObjectIdentifier>()
        for (name, tensor) in parameters {
            precondition(tensor.dtype == .float32, "ParameterEMA: parameter '\(name)' is \(tensor.dtype), not float32")
            precondition(seen.insert(ObjectIdentifier(tensor)).inserted, "ParameterEMA: parameter '\(name)' is listed twice")
        }
        self.decay = decay
        self.usesNumUpdates = usesNumUpdates
        self.namedParameters = parameters
        self.shadows = parameters.map { _, tensor in
            guard tensor.device == .cpu else { return withNoGrad { tensor.detach().contiguousCopy() } }
            let shadow = Tensor(uninitializedShape: tensor.shape)
            tensor.withUnsafeFloats { source in
                shadow.withUnsafeMutableFloats { target in
                    if let base = source.baseAddress, source.count > 0 {
                        target.baseAddress!.update(from: base, count: source.count)
                    }
                }
            }
            return shadow
        }
    }

    /// Starts averaging every parameter of `module` (``KusariNN/Module/namedParameters()``).
    public convenience init(_ module: Module, decay: Float = 0.9999, usesNumUpdates: Bool = true) {
        self.init(parameters: module.namedParameters(), decay: decay, usesNumUpdates: usesNumUpdates)
    }

    /// The decay the next ``update()`` will use: `min(decay, (1 + t) / (10 + t))` with
    /// `t = updateCount + 1`.
    public var nextDecay: Float { effectiveDecay(step: updateCount + 1) }

    private func effectiveDecay(step: Int) -> Float {
        guard usesNumUpdates else { return decay }
        let t = Float(step)
        return Swift.min(decay, (1 + t) / (10 + t))
    }

    /// The averages with their parameters' names, as host copies.
    public var averages: [(String, Tensor)] {
        zip(namedParameters, shadows).map { ($0.0, $1.hostCopy()) }
    }

    /// Moves every shadow to its parameter's device when the parameter has moved since.
    private func followParameters() {
        for ((name, parameter), shadow) in zip(namedParameters, shadows) where shadow.device != parameter.device {
            do { try shadow.moveData(to: parameter.device) } catch {
                fatalError("ParameterEMA: cannot move the average of '\(name)' to \(parameter.device): \(error)")
            }
        }
    }

    /// Counts an optimizer step and moves every average towards its parameter; call it after each
    /// ``KusariOptim/Optimizer/step()``.
    public func update() {
        precondition(!isSwappedIn, "ParameterEMA.update() inside withAveragedParameters")
        followParameters()
        updateCount += 1
        let oneMinusDecay = 1 - effectiveDecay(step: updateCount)
        for ((_, parameter), shadow) in zip(namedParameters, shadows) {
            let count = parameter.count
            guard count > 0 else { continue }
            if parameter.device != .cpu {
                withNoGrad { shadow.assign(shadow - (shadow - parameter) * oneMinusDecay) }
                continue
            }
            parameter.withUnsafeFloats { values in
                shadow.withUnsafeMutableFloats { averages in
                    let p = values.baseAddress!, s = averages.baseAddress!
                    Threading.parallelFor(count) { start, end in
                        for i in start..<end { s[i] -= (s[i] - p[i]) * oneMinusDecay }
                    }
                }
            }
        }
    }

    /// Runs `body` with the averages in place of `model`'s parameter values (for evaluation), then
    /// puts the trained values back, bit for bit, also when `body` throws. The values are swapped,
    /// not copied, so nothing is allocated.
    ///
    /// - Parameter model: checked to be the model whose parameters this average tracks (every
    ///   parameter of `model` must be one of ``namedParameters``).
    public func withAveragedParameters<R>(_ model: Module, _ body: () throws -> R) rethrows -> R {
        let tracked = Set(namedParameters.map { ObjectIdentifier($0.1) })
        precondition(model.parameters().allSatisfy { tracked.contains(ObjectIdentifier($0)) },
                     "ParameterEMA.withAveragedParameters: the model has parameters this average does not track")
        return try withAveragedParameters(body)
    }

    /// Runs `body` with the averages in place of the tracked parameters' values, then restores the
    /// trained values bit for bit (also when `body` throws); see ``withAveragedParameters(_:_:)``.
    public func withAveragedParameters<R>(_ body: () throws -> R) rethrows -> R {
        precondition(!isSwappedIn, "ParameterEMA.withAveragedParameters cannot be nested")
        swapAll()
        isSwappedIn = true
        defer {
            swapAll()
            isSwappedIn = false
        }
        return try body()
    }

    /// Exchanges every parameter's values with its shadow's (through a copy on a GPU).
    private func swapAll() {
        followParameters()
        for ((_, parameter), shadow) in zip(namedParameters, shadows) {
            let count = parameter.count
            guard count > 0 else { continue }
            if parameter.device != .cpu {
                withNoGrad {
                    let value = parameter.detach().contiguousCopy()
                    parameter.assign(shadow)
                    shadow.assign(value)
                }
                continue
            }
            parameter.withUnsafeMutableFloats { values in
                shadow.withUnsafeMutableFloats { averages in
                    let p = values.baseAddress!, s = averages.baseAddress!
                    Threading.parallelFor(count) { start, end in
                        for i in start..<end {
                            let value = p[i]
                            p[i] = s[i]
                            s[i] = value
                        }
                    }
                }
            }
        }
    }

    /// Makes `evaluator` evaluate with the averages swapped in (sets its `weightSwap`, which keeps
    /// this average alive).
    public func useForEvaluation(_ evaluator: Evaluator) {
        evaluator.weightSwap = { body in try self.withAveragedParameters(body) }
    }

    /// Puts the current parameter values into the averages and sets the step count to 0, as if the
    /// average had just been created.
    public func reset() {
        precondition(!isSwappedIn, "ParameterEMA.reset() inside withAveragedParameters")
        updateCount = 0
        followParameters()
        for ((_, parameter), shadow) in zip(namedParameters, shadows) {
            if parameter.device != .cpu {
                shadow.assign(parameter.detach())
                continue
            }
            parameter.withUnsafeFloats { source in
                shadow.withUnsafeMutableFloats { target in
                    if let base = source.baseAddress, source.count > 0 {
                        target.baseAddress!.update(from: base, count: source.count)
                    }
                }
            }
        }
    }

    // MARK: - Extension

    /// Every iteration.
    public var trigger: Trigger { .iterations(1) }
    /// ``ExtensionPriority/writer`` + 50: after the update, before evaluators.
    public var priority: Int { ExtensionPriority.writer + 50 }
    /// `"ParameterEMA"`.
    public var name: String { "ParameterEMA" }

    /// Calls ``update()`` (the trainer runs it after each optimizer step).
    public func callAsFunction(_ trainer: Trainer) throws { update() }

    // MARK: - Snapshots

    /// The state for snapshots: `numUpdates` (the step count `t`, int64 scalar), then
    /// `name/average` for every parameter, in order (host copies). Decay settings are
    /// configuration and are not saved.
    public func stateDict() -> [(String, Tensor)] {
        precondition(!isSwappedIn, "ParameterEMA.stateDict() inside withAveragedParameters")
        var result: [(String, Tensor)] = [("numUpdates", Tensor([Int64(updateCount)], shape: []))]
        for ((name, _), shadow) in zip(namedParameters, shadows) {
            result.append((name + "/average", shadow.hostCopy()))
        }
        return result
    }

    /// Restores a state saved by ``stateDict()``. The keys must be exactly those ``stateDict()``
    /// produces and every average must have its parameter's shape; on any error nothing changes.
    /// An empty state (a snapshot taken without this extension) calls ``reset()``, starting the
    /// average from the current (restored) parameters.
    /// - Throws: ``TrainerStateError`` naming the missing, unexpected and mismatched keys.
    public func loadStateDict(_ state: [(String, Tensor)]) throws {
        precondition(!isSwappedIn, "ParameterEMA.loadStateDict inside withAveragedParameters")
        if state.isEmpty {
            reset()
            return
        }
        var values: [String: Tensor] = [:]
        for (key, tensor) in state { values[key] = tensor }
        var problems: [String] = []
        var expected: Set<String> = ["numUpdates"]
        var count = 0
        if let tensor = values["numUpdates"] {
            let value: Double
            if tensor.count != 1 {
                value = -1
            } else if tensor.dtype == .int64 {
                value = Double(tensor.toArray(of: Int64.self)[0])
            } else {
                value = Double(tensor.item())
            }
            if value >= 0 && value == value.rounded() && value < 9e15 {
                count = Int(value)
            } else {
                problems.append("numUpdates must be a non-negative integer scalar")
            }
        } else {
            problems.append("missing key numUpdates")
        }
        for ((name, parameter), _) in zip(namedParameters, shadows) {
            let key = name + "/average"
            expected.insert(key)
            guard let tensor = values[key] else { problems.append("missing key \(key)"); continue }
            if tensor.shape != parameter.shape {
                problems.append("\(key) has shape \(tensor.shape), the parameter \(parameter.shape)")
            }
        }
        let unexpected = state.map(\.0).filter { !expected.contains($0) }
        if !unexpected.isEmpty { problems.append("unexpected keys: " + unexpected.joined(separator: ", ")) }
        guard problems.isEmpty else {
            throw TrainerStateError("parameter averages: " + problems.joined(separator: "; "))
        }
        updateCount = count
        followParameters()
        for ((name, _), shadow) in zip(namedParameters, shadows) {
            let tensor = values[name + "/average"]!
            shadow.assign(tensor.dtype == .float32 ? tensor : tensor.to(.float32))
        }
    }
}
