import Foundation
import Kusari

/// The per-parameter, per-step constants an update kernel works with.
///
/// ``Optimizer/step()`` builds one for every parameter it updates and hands it to
/// ``Optimizer/update(parameter:gradient:state:range:context:)``.
public struct UpdateContext: Sendable {
    /// The learning rate of this step (``Optimizer/learningRate``).
    public var learningRate: Float
    /// The weight-decay coefficient (``Optimizer/weightDecay``); kernels apply it themselves, as an
    /// L2 term `weightDecay · p` added to the gradient unless the optimizer decouples it (AdamW).
    public var weightDecay: Float
    /// The factor every gradient element is multiplied by before use: the factor given to
    /// ``Optimizer/step(gradientScale:)`` (`1` for ``Optimizer/step()``), times the clipping
    /// factor when ``Optimizer/gradientClipping`` scaled the gradients down this step.
    public var gradientScale: Float
    /// How many updates this parameter has received, counting this one (`1` on its first update).
    /// Parameters skipped because they had no gradient do not count a step.
    public var step: Int

    /// Creates a context; optimizers normally receive one rather than build it.
    public init(learningRate: Float, weightDecay: Float, gradientScale: Float, step: Int) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.gradientScale = gradientScale
        self.step = step
    }

    /// The gradient an L2-regularised update uses: `gradientScale · g + weightDecay · p`.
    @inline(__always)
    public func regularizedGradient(_ gradient: Float, parameter: Float) -> Float {
        gradientScale * gradient + weightDecay * parameter
    }
}

/// Base class of the gradient-descent optimizers.
///
/// An optimizer holds named parameters (usually ``KusariNN/Module/namedParameters()``) and, for
/// each one, its state buffers (momentum, moment estimates, …) and update count. After
/// `loss.backward()`, ``step()`` updates every parameter whose `grad` is set and skips the others.
/// A training step reads:
/// ```swift
/// optimizer.zeroGrad()
/// loss(model(x), t).backward()
/// optimizer.step()
/// ```
///
/// **Organisation.** Like Chainer's `GradientMethod`/`UpdateRule` split and MLX's
/// `OptimizerBase.applySingle`, the base class owns everything common — the parameter list,
/// per-parameter state, the step counters, weight decay, gradient clipping, checkpoints — and a
/// subclass only names its state buffers (``stateNames``), lists its hyper-parameters
/// (``hyperparameters``, ``setHyperparameter(_:to:)``) and implements one fused element loop,
/// ``update(parameter:gradient:state:range:context:)``.
///
/// **Speed.** ``step()`` allocates no tensors: for each parameter it calls the kernel on raw float
/// buffers, split into contiguous chunks across threads by `Threading.parallelFor` when the
/// parameter is large. Gradient tensors are only read, never modified (autodiff may share them).
///
/// **Weight decay** (``weightDecay``) adds `weightDecay · p` to the gradient before the update,
/// like Chainer's `WeightDecay` hook and PyTorch's `weight_decay` (``AdamW`` decouples it instead).
/// **Gradient clipping** (``gradientClipping``) rescales all gradients together so that their
/// global L2 norm is at most the limit, like `torch.nn.utils.clip_grad_norm_`, before weight decay
/// is added (the order of PyTorch's `clip_grad_norm_` followed by `step()`).
///
/// The base class itself does not update anything; use ``SGD``, ``MomentumSGD``, ``Adam``,
/// ``AdamW``, ``RMSprop`` or ``AdaGrad``, or subclass it.
open class Optimizer {
    /// One trained tensor with its optimizer state.
    final class Entry {
        let name: String
        let parameter: Tensor
        /// One buffer per name in ``Optimizer/stateNames``, shaped like the parameter and on its
        /// device. The buffers are never replaced (loading copies into them, and a move to the
        /// parameter's new device refreshes ``statePointers``), so their addresses can be kept.
        var state: [Tensor] = [] {
            didSet { refreshStatePointers() }
        }
        /// Start of each buffer of ``state`` (plain, contiguous float32, owned by the optimizer);
        /// device addresses, never read on the host, while the parameter is on a GPU.
        private(set) var statePointers: [UnsafeMutablePointer<Float>] = []
        /// Number of updates this parameter has received.
        var step = 0
        /// This parameter's own weight-decay coefficient, overriding ``Optimizer/weightDecay``.
        var weightDecay: Float?

        init(name: String, parameter: Tensor) {
            self.name = name
            self.parameter = parameter
        }

        private func refreshStatePointers() {
            statePointers = state.map { $0.storage.data.assumingMemoryBound(to: Float.self) + $0.offset }
        }

        /// Moves the state buffers to the parameter's device when the parameter has moved since
        /// they were made (`Module.move(to:)` before or after creating the optimizer).
        func moveStateToParameterDevice() throws {
            let device = parameter.device
            guard state.contains(where: { $0.device != device }) else { return }
            for buffer in state { try buffer.moveData(to: device) }
            refreshStatePointers()
        }
    }

    /// The trained parameters with their names, in the order they were given.
    public let namedParameters: [(String, Tensor)]
    /// The trained parameters, in the order of ``namedParameters``.
    public var parameters: [Tensor] { namedParameters.map { $0.1 } }

    /// Step size of the next ``step()`` (Adam's α). Set it between steps to follow a schedule.
    public var learningRate: Float
    /// L2 weight-decay coefficient `λ`: every update uses `g + λ·p` instead of `g`, which is the
    /// gradient of the loss plus `λ/2·‖p‖²`. ``AdamW`` instead decays the parameters directly
    /// (`p ← p − lr·λ·p`). `0` (the default) disables it.
    public var weightDecay: Float
    /// Maximum global L2 norm of the gradients, or `nil` (the default) for no clipping. When the
    /// norm `n` over all gradients exceeds it, every gradient is used multiplied by
    /// `gradientClipping / (n + 1e-6)` (PyTorch's `clip_grad_norm_` factor); the gradient tensors
    /// themselves are left untouched.
    public var gradientClipping: Float?
    /// Number of times ``step()`` has run (saved as `step` in the state dict).
    public private(set) var stepCount = 0
    /// The global gradient norm measured by the last ``step()`` while ``gradientClipping`` was
    /// set (before clipping, after ``step(gradientScale:)``'s factor), for logging; `nil` before
    /// that.
    public private(set) var lastGradientNorm: Float?

    let entries: [Entry]

    /// Creates an optimizer for `parameters`.
    ///
    /// - Parameters:
    ///   - parameters: float32 tensors with unique names (no `/` in a name, since state keys use it
    ///     as separator); a tensor may appear only once. ``KusariNN/Module/namedParameters()``
    ///     satisfies this.
    ///   - learningRate: see ``learningRate``.
    ///   - weightDecay: see ``weightDecay``.
    ///   - gradientClipping: see ``gradientClipping``.
    public init(parameters: [(String, Tensor)], learningRate: Float, weightDecay: Float = 0,
                gradientClipping: Float? = nil) {
        precondition(learningRate >= 0, "Optimizer: learning rate \(learningRate) is negative")
        precondition(weightDecay >= 0, "Optimizer: weight decay \(weightDecay) is negative")
        if let limit = gradientClipping {
            precondition(limit > 0, "Optimizer: gradient clipping norm \(limit) must be positive")
        }
        var names = Set<String>()
        var tensors = Set<ObjectIdentifier>()
        for (name, tensor) in parameters {
            precondition(!name.contains("/"), "Optimizer: parameter name '\(name)' contains '/'")
            precondition(names.insert(name).inserted, "Optimizer: duplicate parameter name '\(name)'")
            precondition(tensors.insert(ObjectIdentifier(tensor)).inserted,
                         "Optimizer: parameter '\(name)' is listed twice under different names")
            precondition(tensor.dtype == .float32, "Optimizer: parameter '\(name)' is \(tensor.dtype), not float32")
        }
        self.namedParameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.gradientClipping = gradientClipping
        self.entries = parameters.map { Entry(name: $0.0, parameter: $0.1) }
        let slotCount = stateNames.count
        for entry in entries {
            entry.state = (0..<slotCount).map { _ in Tensor.zeros(entry.parameter.shape, on: entry.parameter.device) }
        }
    }

    // MARK: - What subclasses provide

    /// Names of the per-parameter state buffers, each shaped like its parameter and starting at
    /// zero (for example `["m", "v"]` for Adam). They appear in the state dict as `name/buffer`.
    open var stateNames: [String] { [] }

    /// The hyper-parameters saved in the state dict, with their current values.
    ///
    /// The base class lists `learningRate`, `weightDecay` and `gradientClipping` (`+∞` meaning no
    /// clipping); subclasses append theirs to `super.hyperparameters` and handle the same names in
    /// ``setHyperparameter(_:to:)``.
    open var hyperparameters: [(String, Float)] {
        [("learningRate", learningRate), ("weightDecay", weightDecay),
         ("gradientClipping", gradientClipping ?? .infinity)]
    }

    /// Sets the hyper-parameter called `name` (one of ``hyperparameters``) when loading a state
    /// dict. Returns `false` for a name this optimizer does not know.
    @discardableResult
    open func setHyperparameter(_ name: String, to value: Float) -> Bool {
        switch name {
        case "learningRate": learningRate = value
        case "weightDecay": weightDecay = value
        case "gradientClipping": gradientClipping = value.isFinite ? value : nil
        default: return false
        }
        return true
    }

    /// Updates `parameter[range]` in place from `gradient[range]`: the fused element loop of the
    /// optimizer. Subclasses must override it.
    ///
    /// It may run concurrently on disjoint ranges of the same parameter, so it must only touch
    /// elements inside `range` and must not modify the optimizer. `state` holds one buffer per
    /// name in ``stateNames``, indexed like the parameter. The kernel applies
    /// `context.gradientScale` and `context.weightDecay` itself (see
    /// ``UpdateContext/regularizedGradient(_:parameter:)``), and must not write to `gradient`.
    open func update(parameter: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>,
                     state: [UnsafeMutablePointer<Float>], range: Range<Int>, context: UpdateContext) {
        fatalError("\(type(of: self)) does not override Optimizer.update(parameter:gradient:state:range:context:)")
    }

    /// Updates a parameter that lives on a GPU, in place: the device counterpart of the element
    /// loop, called by ``step()`` without recording gradients.
    ///
    /// `parameter`, `gradient` and the `state` buffers (one per name in ``stateNames``) are
    /// contiguous float32 tensors on the same device. Overrides compute the update with tensor
    /// ops, following the element loop's formula operation for operation, and write the results
    /// back with `assign`; `gradient` must not be modified. The default downloads the tensors,
    /// runs ``update(parameter:gradient:state:range:context:)`` on the host copies and uploads
    /// the results, so every optimizer works on a device, only more slowly.
    open func update(parameter: Tensor, gradient: Tensor, state: [Tensor], context: UpdateContext) {
        let hostParameter = parameter.hostCopy(), hostGradient = gradient.hostCopy()
        let hostState = state.map { $0.hostCopy() }
        let pointers = hostState.map { $0.storage.data.assumingMemoryBound(to: Float.self) + $0.offset }
        hostParameter.withUnsafeMutableFloats { p in
            hostGradient.withUnsafeFloats { g in
                update(parameter: p.baseAddress!, gradient: g.baseAddress!, state: pointers, range: 0..<p.count,
                       context: context)
            }
        }
        parameter.assign(hostParameter)
        for (buffer, host) in zip(state, hostState) { buffer.assign(host) }
    }

    // MARK: - Training

    /// Updates every parameter that has a gradient, in place, and counts a step. Parameters whose
    /// `grad` is `nil` are left alone, and their per-parameter update count does not advance.
    public func step() {
        step(gradientScale: 1)
    }

    /// ``step()`` with every gradient used multiplied by `gradientScale`, without touching the
    /// gradient tensors or making an extra pass over them: the factor joins
    /// ``UpdateContext/gradientScale`` of the update kernels.
    ///
    /// ``DynamicLossScaler`` passes `1/scale` here to unscale the gradients of a scaled loss.
    /// Gradient clipping measures the norm of the scaled gradients, `gradientScale · ‖g‖` (also
    /// what ``lastGradientNorm`` records), so it clips exactly as a plain step on the unscaled
    /// gradients would. With a power-of-two factor and no overflow, the update is bit-identical
    /// to a plain ``step()`` on gradients multiplied by `gradientScale` beforehand.
    /// - Precondition: `gradientScale` is finite and positive.
    public func step(gradientScale: Float) {
        precondition(gradientScale.isFinite && gradientScale > 0,
                     "Optimizer.step: gradient scale \(gradientScale) must be finite and positive")
        stepCount += 1
        var scale = gradientScale
        if let limit = gradientClipping {
            let norm = gradientNorm() * gradientScale
            lastGradientNorm = norm
            scale *= clippingFactor(norm: norm, maxNorm: limit)
        }
        for entry in entries {
            guard let gradient = entry.parameter.grad else { continue }
            precondition(gradient.shape == entry.parameter.shape,
                         "Optimizer: gradient of '\(entry.name)' has shape \(gradient.shape), parameter \(entry.parameter.shape)")
            do { try entry.moveStateToParameterDevice() } catch {
                fatalError("Optimizer: cannot move the state of '\(entry.name)' to \(entry.parameter.device): \(error)")
            }
            entry.step += 1
            let count = entry.parameter.count
            guard count > 0 else { continue }
            let context = UpdateContext(learningRate: learningRate, weightDecay: entry.weightDecay ?? weightDecay,
                                        gradientScale: scale, step: entry.step)
            if entry.parameter.device != .cpu {
                withNoGrad { update(parameter: entry.parameter, gradient: gradient, state: entry.state, context: context) }
                continue
            }
            let state = entry.statePointers
            entry.parameter.withUnsafeMutableFloats { parameter in
                gradient.withUnsafeFloats { gradient in
                    let p = parameter.baseAddress!, g = gradient.baseAddress!
                    Threading.parallelFor(count) { start, end in
                        self.update(parameter: p, gradient: g, state: state, range: start..<end, context: context)
                    }
                }
            }
        }
    }

    /// Gives the parameters called `names` their own weight-decay coefficient, used instead of
    /// ``weightDecay`` (like a PyTorch parameter group with its own `weight_decay`, or the
    /// per-variable L2 losses of the TensorFlow CIFAR-10 tutorial). Set it again to change it.
    /// The coefficients are configuration, not part of ``stateDict()``.
    public func setWeightDecay(_ decay: Float, forParameters names: [String]) {
        precondition(decay >= 0, "Optimizer: weight decay \(decay) is negative")
        for name in names {
            guard let entry = entries.first(where: { $0.name == name }) else {
                preconditionFailure("Optimizer: no parameter called '\(name)'")
            }
            entry.weightDecay = decay
        }
    }

    /// Clears the gradient of every parameter (sets `grad` to `nil`).
    public func zeroGrad() {
        for entry in entries { entry.parameter.zeroGrad() }
    }

    /// The L2 norm of all current gradients taken together (parameters without a gradient count
    /// as zero), as ``gradientClipping`` measures it.
    public func gradientNorm() -> Float {
        Float(OptimKernels.sumOfSquares(entries.compactMap { $0.parameter.grad }).squareRoot())
    }

    // MARK: - Checkpoints

    /// A snapshot of the optimizer's state, for checkpoints (for example with `NPZ.write`).
    ///
    /// Keys, in this order:
    /// - `step`: ``stepCount`` (int64 scalar);
    /// - every hyper-parameter of ``hyperparameters`` (`learningRate`, `weightDecay`,
    ///   `gradientClipping`, then the optimizer's own such as `momentum` or `beta1`), float32
    ///   scalars;
    /// - for every parameter `name`, in order: `name/step`, its update count (int64 scalar), and
    ///   `name/buffer` for each of ``stateNames`` (for Adam `conv1.W/m`, `conv1.W/v`).
    ///
    /// The tensors are host copies, also of a model on a GPU: later steps do not change them.
    public func stateDict() -> [(String, Tensor)] {
        var result: [(String, Tensor)] = [("step", Tensor([Int64(stepCount)], shape: []))]
        for (name, value) in hyperparameters { result.append((name, Tensor(scalar: value))) }
        let names = stateNames
        for entry in entries {
            result.append((entry.name + "/step", Tensor([Int64(entry.step)], shape: [])))
            for (bufferName, buffer) in zip(names, entry.state) {
                result.append((entry.name + "/" + bufferName, buffer.hostCopy()))
            }
        }
        return result
    }

    /// Restores a state saved by ``stateDict()``: step counts, hyper-parameters (including the
    /// learning rate; set ``learningRate`` afterwards to override it) and state buffers.
    ///
    /// Scalars may be stored with shape `[]` or `[1]` and any dtype; counts must be non-negative
    /// integers. With `strict` (the default) the keys must be exactly those ``stateDict()``
    /// produces; otherwise missing entries keep their current values and unknown keys are ignored.
    /// Shape mismatches and invalid values are always errors. On any error nothing is modified.
    /// - Throws: ``OptimizerStateError`` naming the missing and unexpected keys, the shape
    ///   mismatches and the invalid values.
    public func loadStateDict(_ state: [(String, Tensor)], strict: Bool = true) throws {
        var values: [String: Tensor] = [:]
        var order: [String] = []
        for (key, tensor) in state where values.updateValue(tensor, forKey: key) == nil { order.append(key) }
        try load(values, keyOrder: order, strict: strict)
    }

    /// Restores a state saved by ``stateDict()`` from a dictionary (as read from an `.npz` file);
    /// see ``loadStateDict(_:strict:)-([(String,Tensor)],_)``.
    public func loadStateDict(_ state: [String: Tensor], strict: Bool = true) throws {
        try load(state, keyOrder: state.keys.sorted(), strict: strict)
    }

    private func load(_ values: [String: Tensor], keyOrder: [String], strict: Bool) throws {
        var expected = Set<String>()
        var missing: [String] = []
        var mismatches: [OptimizerStateError.ShapeMismatch] = []
        var invalid: [String] = []
        var actions: [() -> Void] = []

        /// The single value stored under `key`, or `nil` (after recording why) when absent or bad.
        func scalar(_ key: String) -> Tensor? {
            expected.insert(key)
            guard let tensor = values[key] else { missing.append(key); return nil }
            guard tensor.count == 1 else {
                mismatches.append(.init(key: key, checkpoint: tensor.shape, expected: []))
                return nil
            }
            return tensor
        }
        func count(_ key: String) -> Int? {
            guard let tensor = scalar(key) else { return nil }
            let value: Double
            switch tensor.dtype {
            case .int64: value = Double(tensor.toArray(of: Int64.self)[0])
            case .int32: value = Double(tensor.toArray(of: Int32.self)[0])
            default: value = Double(tensor.item())
            }
            guard value >= 0, value == value.rounded(), value < 9e15 else {
                invalid.append("\(key) must be a non-negative integer, got \(value)")
                return nil
            }
            return Int(value)
        }

        if let step = count("step") { actions.append { self.stepCount = step } }
        for (name, _) in hyperparameters {
            guard let tensor = scalar(name) else { continue }
            let value = tensor.item()
            if value.isNaN {
                invalid.append("\(name) is NaN")
            } else {
                actions.append { self.setHyperparameter(name, to: value) }
            }
        }
        let names = stateNames
        for entry in entries {
            if let step = count(entry.name + "/step") { actions.append { entry.step = step } }
            for (bufferName, buffer) in zip(names, entry.state) {
                let key = entry.name + "/" + bufferName
                expected.insert(key)
                guard let tensor = values[key] else { missing.append(key); continue }
                guard tensor.shape == buffer.shape else {
                    mismatches.append(.init(key: key, checkpoint: tensor.shape, expected: buffer.shape))
                    continue
                }
                actions.append { buffer.assign(tensor.dtype == .float32 ? tensor : tensor.to(.float32)) }
            }
        }
        let unexpected = keyOrder.filter { !expected.contains($0) }
        if !mismatches.isEmpty || !invalid.isEmpty || (strict && (!missing.isEmpty || !unexpected.isEmpty)) {
            throw OptimizerStateError(missingKeys: strict ? missing : [], unexpectedKeys: strict ? unexpected : [],
                                      shapeMismatches: mismatches, invalidValues: invalid)
        }
        withNoGrad { for action in actions { action() } }
    }
}

/// Why ``Optimizer/loadStateDict(_:strict:)-([(String,Tensor)],_)`` refused a state dict. Nothing
/// is loaded when it is thrown.
public struct OptimizerStateError: Error, CustomStringConvertible, LocalizedError, Sendable {
    /// An entry whose shape differs from what the optimizer holds (`[]` for scalars).
    public struct ShapeMismatch: Sendable, Equatable {
        /// The state-dict key.
        public let key: String
        /// The shape found in the state dict.
        public let checkpoint: [Int]
        /// The shape the optimizer expects.
        public let expected: [Int]

        /// Creates a mismatch record.
        public init(key: String, checkpoint: [Int], expected: [Int]) {
            self.key = key
            self.checkpoint = checkpoint
            self.expected = expected
        }
    }

    /// Keys the optimizer needs that the state dict lacks (only when loading strictly).
    public let missingKeys: [String]
    /// Keys in the state dict the optimizer has no use for (only when loading strictly), for
    /// example the state of a parameter it does not train.
    public let unexpectedKeys: [String]
    /// Entries with the wrong shape (always an error).
    public let shapeMismatches: [ShapeMismatch]
    /// Entries with unusable values, such as a negative step count (always an error).
    public let invalidValues: [String]

    /// Creates an error record.
    public init(missingKeys: [String], unexpectedKeys: [String], shapeMismatches: [ShapeMismatch],
                invalidValues: [String] = []) {
        self.missingKeys = missingKeys
        self.unexpectedKeys = unexpectedKeys
        self.shapeMismatches = shapeMismatches
        self.invalidValues = invalidValues
    }

    /// A one-line summary naming every problem.
    public var description: String {
        func format(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ",") + "]" }
        var parts: [String] = []
        if !missingKeys.isEmpty { parts.append("missing keys: " + missingKeys.joined(separator: ", ")) }
        if !unexpectedKeys.isEmpty { parts.append("unexpected keys: " + unexpectedKeys.joined(separator: ", ")) }
        if !shapeMismatches.isEmpty {
            parts.append("shape mismatches: " + shapeMismatches.map {
                "\($0.key): state dict \(format($0.checkpoint)), optimizer \(format($0.expected))"
            }.joined(separator: "; "))
        }
        if !invalidValues.isEmpty { parts.append("invalid values: " + invalidValues.joined(separator: "; ")) }
        return "cannot load optimizer state: " + parts.joined(separator: "; ")
    }

    /// The same text as ``description``.
    public var errorDescription: String? { description }
}
