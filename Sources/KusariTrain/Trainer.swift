import Foundation
import Kusari
import KusariNN

/// The training loop (Chainer's `Trainer`): repeats updates until the stop trigger fires,
/// running the registered extensions after each update.
///
/// Each iteration: a fresh ``observation``; one ``Updater/update(reporter:)``; the stop trigger
/// is consulted (so that extensions can see ``isFinalIteration``; an interval stop trigger also
/// stops a run resumed past its length); then every extension whose trigger fires runs, highest
/// priority first. Interval triggers are all evaluated before the first extension runs, custom
/// triggers just before their extension (so they see what earlier extensions did).
/// ``stop(reason:failure:)`` ends the loop after the current iteration.
///
/// ```swift
/// let trainer = Trainer(updater: updater, stopTrigger: .epochs(20), out: URL(fileURLWithPath: "result"))
/// trainer.extend(Evaluator(source: validation, model: model))
/// trainer.extend(LogReport())
/// trainer.extend(PrintReport(entries: ["epoch", "main/loss", "validation/main/loss", "elapsed_time"]))
/// trainer.extend(Snapshot(), trigger: .epochs(10))
/// try trainer.run()
/// ```
public final class Trainer {
    /// One registered extension.
    struct Entry {
        let name: String
        let `extension`: any Extension
        let trigger: Trigger
        let priority: Int
    }

    /// Performs the updates and knows the position.
    public let updater: Updater
    /// Ends training when it fires (checked once per iteration, after the update).
    public let stopTrigger: Trigger
    /// Output folder (created by ``run()``).
    public let out: URL
    /// Receives the observations of each iteration.
    public let reporter = Reporter()
    /// Generators whose state is part of ``stateDict()`` (`Generator.default` as `default`);
    /// register others (for example for augmentation) before taking or loading snapshots.
    public var generators: [String: Generator] = ["default": .default]

    private(set) var entries: [Entry] = []
    private var startTime: UInt64?
    var previousElapsed: Double = 0
    private var finalElapsed: Double?
    /// Whether ``run()`` has finished.
    public private(set) var isDone = false
    /// Whether the loop is running.
    public private(set) var isRunning = false
    /// Set by ``stop(reason:failure:)``: training ends after the current iteration.
    public private(set) var stopRequest: StopRequest?
    /// `true` while the extensions of the last iteration run (the stop trigger fired or a stop was
    /// requested before them).
    public private(set) var isFinalIteration = false
    /// The error that ended ``run()``, if any (set before extensions are finalised).
    public private(set) var failure: Error?

    /// - Parameters:
    ///   - updater: performs the updates.
    ///   - stopTrigger: ends training, usually `.epochs(n)` or `.iterations(n)`.
    ///   - out: output folder for logs, snapshots and the final model.
    public init(updater: Updater, stopTrigger: Trigger, out: URL) {
        self.updater = updater
        self.stopTrigger = stopTrigger
        self.out = out
    }

    /// The observations of the current (or, between iterations, the last) iteration.
    public var observation: Observation { reporter.observation }

    /// Seconds of training, including the training before a resume (0 before ``run()``).
    public var elapsedTime: Double {
        if let finalElapsed { return finalElapsed }
        guard let startTime else { return previousElapsed }
        return Double(DispatchTime.now().uptimeNanoseconds &- startTime) / 1e9 + previousElapsed
    }

    /// Registers an extension. Names are unique: a repeated name gets `_1`, `_2`, … appended
    /// (as in Chainer); the state of the extension is saved under its name.
    /// - Parameters:
    ///   - trigger: when to run it (default: the extension's own ``Extension/trigger``).
    ///   - priority: order within an iteration (default: the extension's own).
    ///   - name: registration name (default: the extension's own).
    public func extend(_ ext: any Extension, trigger: Trigger? = nil, priority: Int? = nil, name: String? = nil) {
        precondition(!isRunning, "Trainer.extend: cannot add extensions while training runs")
        let base = name ?? ext.name
        var unique = base
        var ordinal = 0
        while entries.contains(where: { $0.name == unique }) {
            ordinal += 1
            unique = "\(base)_\(ordinal)"
        }
        entries.append(Entry(name: unique, extension: ext, trigger: trigger ?? ext.trigger, priority: priority ?? ext.priority))
    }

    /// The extension registered under `name`.
    public func getExtension(_ name: String) -> (any Extension)? {
        entries.first { $0.name == name }?.extension
    }

    /// The registered extensions with their names, in registration order.
    public var extensions: [(name: String, extension: any Extension)] { entries.map { ($0.name, $0.extension) } }

    /// The first registered extension of type `type`.
    public func firstExtension<E: Extension>(of type: E.Type) -> E? {
        entries.lazy.compactMap { $0.extension as? E }.first
    }

    /// Asks the loop to end after the current iteration (the remaining extensions of the iteration
    /// still run). With `failure`, snapshots and the final model are not written and ``run()``
    /// throws ``TrainingStopped`` with `reason`. The first request wins.
    public func stop(reason: String = "stopped on request", failure: Bool = false) {
        guard stopRequest == nil else { return }
        stopRequest = StopRequest(reason: reason, isFailure: failure, iteration: updater.iteration)
    }

    /// Whether a failing stop was requested or the loop failed: snapshots and the final model are
    /// then not written.
    public var hasFailed: Bool { failure != nil || stopRequest?.isFailure == true }

    /// Consults the stop trigger; an interval stop trigger also stops a run whose position is
    /// already past the training length (resuming a finished run trains no further).
    private func shouldStop() -> Bool {
        let fired = stopTrigger(self)
        return fired || stopTrigger.hasReachedPeriod(updater)
    }

    /// Runs the training loop until the stop trigger fires or ``stop(reason:failure:)`` is called.
    /// Creates ``out``. Can run once per trainer.
    /// - Throws: errors of the updater and extensions (after finalising them), and
    ///   ``TrainingStopped`` when stopped by a failure.
    public func run() throws {
        precondition(!isDone && !isRunning, "Trainer.run: the training loop can run only once per trainer")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let ordered = entries.enumerated().sorted {
            $0.element.priority != $1.element.priority ? $0.element.priority > $1.element.priority : $0.offset < $1.offset
        }.map(\.element)
        isRunning = true
        startTime = DispatchTime.now().uptimeNanoseconds
        do {
            for entry in ordered { try entry.extension.initialize(self) }
            var stopping = shouldStop()
            while !stopping && stopRequest == nil {
                reporter.startObservation()
                try updater.update(reporter: reporter)
                stopping = shouldStop()
                // Interval triggers depend only on the position: evaluate them all before any
                // extension runs, so a snapshot taken in this iteration holds their final state.
                let fired = ordered.map { $0.trigger.interval == nil ? nil : $0.trigger(self) }
                for (entry, early) in zip(ordered, fired) {
                    isFinalIteration = stopping || stopRequest != nil
                    if early ?? entry.trigger(self) { try entry.extension(self) }
                }
            }
        } catch {
            failure = error
        }
        for entry in ordered { entry.extension.finalize() }
        updater.finalize()
        finalElapsed = elapsedTime
        isRunning = false
        isDone = true
        if let failure { throw failure }
        if let request = stopRequest, request.isFailure {
            throw TrainingStopped(reason: request.reason, iteration: request.iteration)
        }
    }
}
