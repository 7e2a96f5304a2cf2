import Foundation
import Kusari

/// Accumulates the observations of every iteration and, each time its own trigger fires, appends
/// their means with `epoch`, `iteration` and `elapsed_time` to ``log`` and writes the whole log
/// to `out/log` (Chainer's `LogReport`).
///
/// The file is a JSON array of objects in the layout of Chainer's (`json.dump(log, indent=4)`),
/// replaced atomically at each write. The log and the partial sums of the current interval are
/// part of the extension's state, so a run resumed from a snapshot (also one taken mid-interval)
/// writes exactly the entries an uninterrupted run would (apart from `elapsed_time`).
public final class LogReport: Extension {
    /// The interval of log entries (default: every epoch).
    public let entryTrigger: Trigger
    /// Observation names to log, or `nil` for all.
    public let keys: [String]?
    /// File name under the trainer's `out`, or `nil` to keep the log in memory only.
    public let logName: String?
    /// Edits each entry before it is stored.
    public let postprocess: ((inout LogEntry) -> Void)?
    /// The entries so far.
    public private(set) var log: [LogEntry] = []
    private var summary = DictSummary()

    /// - Parameters:
    ///   - keys: observation names to log (default: all).
    ///   - trigger: when to emit an entry (default: every epoch).
    ///   - postprocess: edits each entry before it is stored and written.
    ///   - logName: file name under `out` (default `log`); `nil` writes no file.
    public init(keys: [String]? = nil, trigger: Trigger = .epochs(1),
                postprocess: ((inout LogEntry) -> Void)? = nil, logName: String? = "log") {
        self.keys = keys
        self.entryTrigger = trigger
        self.postprocess = postprocess
        self.logName = logName
    }

    public var name: String { "LogReport" }

    /// Adds the current observation; emits and writes an entry when the entry trigger fires.
    public func callAsFunction(_ trainer: Trainer) throws {
        if let keys {
            for key in keys { if let value = trainer.observation[key] { summary.add(key, value) } }
        } else {
            summary.add(trainer.observation)
        }
        guard entryTrigger(trainer) else { return }
        var entry = summary.means
        entry["epoch"] = Double(trainer.updater.epoch)
        entry["iteration"] = Double(trainer.updater.iteration)
        entry["elapsed_time"] = trainer.elapsedTime
        postprocess?(&entry)
        log.append(entry)
        summary = DictSummary()
        if let logName { try write(to: trainer.out.appendingPathComponent(logName)) }
    }

    /// Writes the log (``LogJSON/encode(_:)``) to `url` atomically.
    public func write(to url: URL) throws {
        try Data((LogJSON.encode(log) + "\n").utf8).write(to: url, options: .atomic)
    }

    /// Keys: `log` (the entries as JSON text, exact), `summary/…` (the sums of the current
    /// interval, ``DictSummary/stateDict()``) and `trigger/…` (the entry trigger's position).
    public func stateDict() -> [(String, Tensor)] {
        [("log", StateCoding.text(LogJSON.encode(log)))]
            + StateCoding.prefixed("summary/", summary.stateDict())
            + StateCoding.prefixed("trigger/", entryTrigger.stateDict())
    }

    /// Restores ``stateDict()``; an empty state starts an empty log.
    public func loadStateDict(_ state: [(String, Tensor)]) throws {
        guard !state.isEmpty else {
            log = []
            summary = DictSummary()
            try entryTrigger.loadStateDict([])
            return
        }
        let text = try StateCoding.text(try StateCoding.require(state, "log", in: "LogReport"), key: "log")
        var restored = DictSummary()
        try restored.loadStateDict(StateCoding.section(state, "summary/"))
        try entryTrigger.loadStateDict(StateCoding.section(state, "trigger/"))
        log = try LogJSON.decode(text)
        summary = restored
    }
}
