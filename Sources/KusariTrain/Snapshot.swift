import Foundation
import Kusari

/// Saves everything needed to resume training (Chainer's `snapshot()`): every epoch by default,
/// writes ``Trainer/stateDict()`` to `out/snapshot_iter_{iteration}.npz` atomically (temporary
/// file, fsync, rename), so an interrupted write never damages an earlier snapshot.
///
/// Snapshot layout (`.npz` members; see ``Trainer/stateDict()``):
/// ```
/// updater/iteration, updater/epoch, updater/previous_epoch_detail
/// updater/model:main/<parameter or buffer>       e.g. updater/model:main/l1.W
/// updater/optimizer:main/<optimizer state>       e.g. updater/optimizer:main/l1.W/v
/// updater/iterator:main/<BatchSource state>
/// stop_trigger/previous_iteration, stop_trigger/previous_epoch_detail
/// extensions/<name>/…, extension_triggers/<name>/…    e.g. extensions/LogReport/log
/// extensions/Snapshot/generators/<name>/{seed,offset}  (generators given to this extension)
/// generators/<name>/{seed,offset}                 (Trainer.generators, `default` included)
/// observation/<key>, elapsed_time
/// ```
/// Doubles are stored as int64 bit patterns and text as uint8 UTF-8 (see the keys' owners).
/// `Module.load(from:prefix:)` with prefix `updater/model:main/` reads the model out of a
/// snapshot. Restore with ``Trainer/resume(from:)``.
///
/// No snapshot is written once training has failed (``Trainer/hasFailed``, e.g. after
/// ``NaNGuard`` fired), so the last good one stays in place. With `keep`, only the newest `keep`
/// snapshots written by this extension remain (the list survives resumes).
public final class Snapshot: Extension {
    /// Number of snapshots to keep, or `nil` for all.
    public let keep: Int?
    /// Extra generators saved with every snapshot (besides ``Trainer/generators``).
    public let generators: [String: Generator]
    /// Deflate the archive members.
    public let compressed: Bool
    private let defaultTrigger: Trigger
    private let filename: (Trainer) -> String
    /// Files written by this extension, oldest first (only those still kept).
    public private(set) var written: [String] = []

    /// - Parameters:
    ///   - trigger: when to save (default every epoch; e.g. `.epochs(10)`).
    ///   - keep: keep only the newest `keep` snapshots.
    ///   - generators: extra random generators to save and restore.
    ///   - compressed: deflate the members.
    ///   - filename: file name under `out` (default `snapshot_iter_{iteration}.npz`).
    public init(trigger: Trigger = .epochs(1), keep: Int? = nil, generators: [String: Generator] = [:],
                compressed: Bool = false,
                filename: @escaping (Trainer) -> String = { "snapshot_iter_\($0.updater.iteration).npz" }) {
        precondition(keep.map { $0 > 0 } ?? true, "Snapshot: keep must be positive")
        self.defaultTrigger = trigger
        self.keep = keep
        self.generators = generators
        self.compressed = compressed
        self.filename = filename
    }

    public var name: String { "Snapshot" }
    public var trigger: Trigger { defaultTrigger }
    public var priority: Int { ExtensionPriority.snapshot }

    /// The newest snapshot written by this extension.
    public func latest(in trainer: Trainer) -> URL? {
        written.last.map { trainer.out.appendingPathComponent($0) }
    }

    /// Writes a snapshot (unless training has failed) and removes the ones beyond `keep`.
    public func callAsFunction(_ trainer: Trainer) throws {
        guard !trainer.hasFailed else { return }
        let file = filename(trainer)
        let previous = written
        // The list is part of the snapshot itself, so it names the file before it is written.
        written.removeAll { $0 == file }
        written.append(file)
        do {
            try trainer.saveSnapshot(to: trainer.out.appendingPathComponent(file), compressed: compressed)
        } catch {
            written = previous
            throw error
        }
        if let keep {
            while written.count > keep {
                let old = written.removeFirst()
                try? FileManager.default.removeItem(at: trainer.out.appendingPathComponent(old))
            }
        }
    }

    /// Keys: `written` (JSON list of the kept files) and `generators/NAME/{seed,offset}`.
    public func stateDict() -> [(String, Tensor)] {
        let list = (try? JSONSerialization.data(withJSONObject: written)).flatMap { String(data: $0, encoding: .utf8) } ?? "[]"
        var state = [("written", StateCoding.text(list))]
        for name in generators.keys.sorted() {
            state += StateCoding.prefixed("generators/\(name)/", Trainer.generatorState(generators[name]!))
        }
        return state
    }

    /// Restores ``stateDict()``.
    public func loadStateDict(_ state: [(String, Tensor)]) throws {
        guard !state.isEmpty else { return }
        var restored: [(Generator, (seed: UInt64, offset: UInt64))] = []
        for (name, generator) in generators {
            let section = StateCoding.section(state, "generators/\(name)/")
            guard !section.isEmpty else { throw TrainerStateError("Snapshot: no state for generator '\(name)'") }
            restored.append((generator, try Trainer.generatorState(from: section, name: "generators/\(name)")))
        }
        if let tensor = StateCoding.lookup(state, "written") {
            let text = try StateCoding.text(tensor, key: "written")
            guard let list = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String] else {
                throw TrainerStateError("Snapshot written: expected a JSON list of file names, found \(text.prefix(80))")
            }
            written = list
        }
        for (generator, value) in restored { generator.state = value }
    }
}
