import Kusari

/// Base class of every layer and network.
///
/// A module finds its state by reflection (`Mirror`, including the stored properties of its
/// superclasses), in declaration order, superclass properties first:
/// - a stored leaf ``Tensor`` with `requiresGrad` is a **parameter** (trained by optimizers);
/// - a stored ``Tensor`` without `requiresGrad` is a persistent **buffer** (for example
///   BatchNorm's running statistics): saved in the state dict, never trained. Setting
///   `requiresGrad = false` on a parameter therefore freezes it and turns it into a buffer;
/// - a stored ``Module`` is a **child**; `[Module]` arrays and `[Tensor]` arrays are expanded with
///   their indices as names, and `[String: Module]` / `[String: Tensor]` dictionaries with their
///   keys (sorted);
/// - optionals holding `nil` are skipped, and so is anything else (numbers, generators, structs,
///   tuples, non-leaf tensors such as cached activations).
///
/// Hierarchical names join property names with `"."`, like `blocks.3.conv.W`. Parameter names
/// follow Chainer (`W`, `b`, `gamma`, `beta`, `avgMean`, `avgVar`), so checkpoints line up with
/// Chainer's npz keys. A tensor or module reachable under several names (weight tying) is
/// reported once, under its first name. Do not store strong references to a parent module.
///
/// Subclasses declare their layers and parameters as stored properties, call `super.init()` and
/// usually provide `callAsFunction`:
/// ```swift
/// final class MLP: Module, UnaryLayer {
///     let l1 = Linear(784, 100), l2 = Linear(100, 10)
///     func callAsFunction(_ x: Tensor) -> Tensor { l2(relu(l1(x))) }
/// }
/// ```
open class Module {
    private var trainingFlag = true

    /// Creates an empty module; subclasses initialise their stored layers first, then call this.
    public init() {}

    // MARK: - Reflection

    /// One reflected member of a module: a tensor or a child module, with its local name.
    enum Member {
        case tensor(String, Tensor)
        case module(String, Module)
    }

    /// This module's own tensors and children in declaration order (superclass first).
    func members() -> [Member] {
        var mirrors: [Mirror] = []
        var current: Mirror? = Mirror(reflecting: self)
        while let mirror = current {
            mirrors.append(mirror)
            current = mirror.superclassMirror
        }
        var result: [Member] = []
        for mirror in mirrors.reversed() {
            for child in mirror.children {
                guard let label = child.label else { continue }
                Module.classify(child.value, name: Module.propertyName(label), into: &result)
            }
        }
        return result
    }

    private static func propertyName(_ label: String) -> String {
        let lazyPrefix = "$__lazy_storage_$_"
        return label.hasPrefix(lazyPrefix) ? String(label.dropFirst(lazyPrefix.count)) : label
    }

    private static func classify(_ value: Any, name: String, into result: inout [Member]) {
        if let tensor = value as? Tensor {
            if tensor.isLeaf { result.append(.tensor(name, tensor)) }
        } else if let module = value as? Module {
            result.append(.module(name, module))
        } else if let modules = value as? [Module] {
            for (index, module) in modules.enumerated() { result.append(.module("\(name).\(index)", module)) }
        } else if let tensors = value as? [Tensor] {
            for (index, tensor) in tensors.enumerated() where tensor.isLeaf {
                result.append(.tensor("\(name).\(index)", tensor))
            }
        } else if let modules = value as? [String: Module] {
            for key in modules.keys.sorted() { result.append(.module("\(name).\(key)", modules[key]!)) }
        } else if let tensors = value as? [String: Tensor] {
            for key in tensors.keys.sorted() where tensors[key]!.isLeaf {
                result.append(.tensor("\(name).\(key)", tensors[key]!))
            }
        }
    }

    /// Visits every tensor of the tree (depth first, declaration order), each once.
    func forEachTensor(_ body: (String, Tensor) -> Void) {
        var seenTensors = Set<ObjectIdentifier>()
        var seenModules: Set<ObjectIdentifier> = [ObjectIdentifier(self)]
        func visit(_ module: Module, prefix: String) {
            for member in module.members() {
                switch member {
                case let .tensor(name, tensor):
                    if seenTensors.insert(ObjectIdentifier(tensor)).inserted { body(prefix + name, tensor) }
                case let .module(name, child):
                    if seenModules.insert(ObjectIdentifier(child)).inserted { visit(child, prefix: prefix + name + ".") }
                }
            }
        }
        visit(self, prefix: "")
    }

    // MARK: - Parameters, buffers, children

    /// Trainable tensors (leaves with `requiresGrad`) of this module and its descendants, with
    /// hierarchical names, in declaration order.
    public func namedParameters() -> [(String, Tensor)] {
        var result: [(String, Tensor)] = []
        forEachTensor { name, tensor in if tensor.requiresGrad { result.append((name, tensor)) } }
        return result
    }

    /// Trainable tensors, in the order of ``namedParameters()``.
    public func parameters() -> [Tensor] { namedParameters().map { $0.1 } }

    /// Persistent non-trainable tensors (running statistics, frozen weights) with hierarchical
    /// names, in declaration order.
    public func namedBuffers() -> [(String, Tensor)] {
        var result: [(String, Tensor)] = []
        forEachTensor { name, tensor in if !tensor.requiresGrad { result.append((name, tensor)) } }
        return result
    }

    /// Persistent non-trainable tensors, in the order of ``namedBuffers()``.
    public func buffers() -> [Tensor] { namedBuffers().map { $0.1 } }

    /// The direct sub-modules with their local names (`conv1`, `blocks.0`, …).
    public func namedChildren() -> [(String, Module)] {
        var seen = Set<ObjectIdentifier>()
        return members().compactMap { member in
            guard case let .module(name, module) = member, seen.insert(ObjectIdentifier(module)).inserted else { return nil }
            return (name, module)
        }
    }

    /// The direct sub-modules.
    public func children() -> [Module] { namedChildren().map { $0.1 } }

    /// This module (named `""`) and all its descendants with hierarchical names, depth first.
    public func namedModules() -> [(String, Module)] {
        var result: [(String, Module)] = [("", self)]
        var seen: Set<ObjectIdentifier> = [ObjectIdentifier(self)]
        func visit(_ module: Module, prefix: String) {
            for (name, child) in module.namedChildren() where seen.insert(ObjectIdentifier(child)).inserted {
                result.append((prefix + name, child))
                visit(child, prefix: prefix + name + ".")
            }
        }
        visit(self, prefix: "")
        return result
    }

    /// This module followed by all its descendants, depth first.
    public func modules() -> [Module] { namedModules().map { $0.1 } }

    /// Number of scalar parameters (trainable elements).
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    /// Clears the gradient of every parameter.
    public func zeroGrad() {
        for parameter in parameters() { parameter.zeroGrad() }
    }

    // MARK: - Training mode

    /// Whether the module behaves as in training (dropout active, BatchNorm using batch
    /// statistics). Setting it sets every descendant too. Modules start in training mode.
    public var isTraining: Bool {
        get { trainingFlag }
        set { for module in modules() { module.trainingFlag = newValue } }
    }

    /// Switches this module and its descendants to training mode (or evaluation mode with
    /// `false`) and returns `self`.
    @discardableResult
    public func train(_ mode: Bool = true) -> Self {
        isTraining = mode
        return self
    }

    /// Switches this module and its descendants to evaluation mode and returns `self`.
    @discardableResult
    public func eval() -> Self { train(false) }
}

/// A module with a single-tensor forward pass, usable inside ``Sequential``.
public protocol UnaryLayer: Module {
    /// Runs the layer on `x`.
    func callAsFunction(_ x: Tensor) -> Tensor
}
