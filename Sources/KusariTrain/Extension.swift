import Foundation
import Kusari

/// Standard extension priorities (Chainer's `PRIORITY_*`): within an iteration, extensions run
/// from the highest priority to the lowest, in registration order for equal priorities.
public enum ExtensionPriority {
    /// Extensions that add observations (``Evaluator``).
    public static let writer = 300
    /// Extensions that check or edit observations (``NaNGuard``, schedules).
    public static let editor = 200
    /// Extensions that only read observations (``LogReport``, ``PrintReport``, ``ProgressBar``).
    public static let reader = 100
    /// Snapshots, after everything that changes state.
    public static let snapshot = -100
}

/// Something the trainer runs after an update when its trigger fires (Chainer's `Extension`).
///
/// Every requirement has a default: trigger every iteration, priority ``ExtensionPriority/reader``,
/// the type name as name, and nothing to initialise, finalise or save.
public protocol Extension: AnyObject {
    /// When the extension runs, unless ``Trainer/extend(_:trigger:priority:name:)`` is given another.
    var trigger: Trigger { get }
    /// Order within an iteration: higher runs first.
    var priority: Int { get }
    /// The default name under which the trainer registers the extension (and its state).
    var name: String { get }
    /// Called once when ``Trainer/run()`` starts, before the first update (also after a resume).
    func initialize(_ trainer: Trainer) throws
    /// Runs the extension.
    func callAsFunction(_ trainer: Trainer) throws
    /// Called once when the training loop ends, also when it ends with an error.
    func finalize()
    /// The extension's state for snapshots.
    func stateDict() -> [(String, Tensor)]
    /// Restores ``stateDict()``; receives an empty state when the snapshot holds none.
    func loadStateDict(_ state: [(String, Tensor)]) throws
}

extension Extension {
    /// Every iteration.
    public var trigger: Trigger { .iterations(1) }
    /// ``ExtensionPriority/reader``.
    public var priority: Int { ExtensionPriority.reader }
    /// The type's name.
    public var name: String { String(describing: type(of: self)) }
    /// Does nothing.
    public func initialize(_ trainer: Trainer) throws {}
    /// Does nothing.
    public func finalize() {}
    /// No state.
    public func stateDict() -> [(String, Tensor)] { [] }
    /// Ignores the state.
    public func loadStateDict(_ state: [(String, Tensor)]) throws {}
}
