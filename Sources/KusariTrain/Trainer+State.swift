import Foundation
import Kusari
import KusariNN

extension Trainer {
    /// Everything needed to continue training exactly, as one flat state dict (the layout of
    /// snapshot files, close to Chainer's trainer serialisation):
    /// - `updater/…`: the updater's state (``StandardUpdater/stateDict()``: iteration, epoch,
    ///   model `updater/model:main/…`, optimizer `updater/optimizer:main/…`, data source
    ///   `updater/iterator:main/…`);
    /// - `stop_trigger/…`: the stop trigger's position (``Trigger/stateDict()``);
    /// - `extensions/NAME/…` and `extension_triggers/NAME/…`: each registered extension's state
    ///   and its trigger's, by registration name;
    /// - `generators/NAME/seed`, `generators/NAME/offset`: each of ``generators`` (uint64 values
    ///   stored as int64 bit patterns);
    /// - `observation/KEY`: the last iteration's observations (float64 bits);
    /// - `elapsed_time`: seconds of training so far (float64 bits).
    public func stateDict() -> [(String, Tensor)] {
        var state = StateCoding.prefixed("updater/", updater.stateDict())
        state += StateCoding.prefixed("stop_trigger/", stopTrigger.stateDict())
        for entry in entries {
            state += StateCoding.prefixed("extensions/\(entry.name)/", entry.extension.stateDict())
            state += StateCoding.prefixed("extension_triggers/\(entry.name)/", entry.trigger.stateDict())
        }
        for name in generators.keys.sorted() {
            state += StateCoding.prefixed("generators/\(name)/", Trainer.generatorState(generators[name]!))
        }
        for (key, value) in observation { state.append(("observation/" + key, StateCoding.double(value))) }
        state.append(("elapsed_time", StateCoding.double(elapsedTime)))
        return state
    }

    /// Restores ``stateDict()``: the updater (model, optimizer, source), triggers, generators,
    /// elapsed time and the state of every registered extension (an extension absent from the
    /// state receives an empty state; state of unregistered extensions is ignored). Register the
    /// same extensions under the same names as in the run that saved it, then call this before
    /// ``run()``.
    public func loadStateDict(_ state: [(String, Tensor)]) throws {
        precondition(!isRunning, "Trainer.loadStateDict: cannot load while training runs")
        let updaterState = StateCoding.section(state, "updater/")
        guard !updaterState.isEmpty else { throw TrainerStateError("the state holds no updater (updater/…)") }
        let elapsed = try StateCoding.double(try StateCoding.require(state, "elapsed_time", in: "trainer"), key: "elapsed_time")
        var generatorStates: [(Generator, (seed: UInt64, offset: UInt64))] = []
        for (name, generator) in generators {
            let section = StateCoding.section(state, "generators/\(name)/")
            if section.isEmpty { continue }
            generatorStates.append((generator, try Trainer.generatorState(from: section, name: "generators/\(name)")))
        }
        try updater.loadStateDict(updaterState)
        try stopTrigger.loadStateDict(StateCoding.section(state, "stop_trigger/"))
        for entry in entries {
            do {
                try entry.extension.loadStateDict(StateCoding.section(state, "extensions/\(entry.name)/"))
                try entry.trigger.loadStateDict(StateCoding.section(state, "extension_triggers/\(entry.name)/"))
            } catch let error as TrainerStateError {
                throw TrainerStateError("extension \(entry.name): \(error.message)")
            }
        }
        for (generator, value) in generatorStates { generator.state = value }
        var restored = Observation()
        for (key, tensor) in StateCoding.section(state, "observation/") {
            restored[key] = try StateCoding.double(tensor, key: "observation/" + key)
        }
        reporter.startObservation()
        reporter.report(restored)
        previousElapsed = elapsed
    }

    /// Writes ``stateDict()`` to `url` as an `.npz` archive, atomically (a temporary file renamed
    /// into place), creating the folder if needed.
    public func saveSnapshot(to url: URL, compressed: Bool = false) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let arrays = stateDict().map { (name: $0.0, array: $0.1.npyArray) }
        try NPZ.write(arrays, to: url, compressed: compressed)
    }

    /// Loads a snapshot written by ``Snapshot`` or ``saveSnapshot(to:compressed:)`` (see
    /// ``loadStateDict(_:)``), so that ``run()`` continues exactly where it was taken.
    public func resume(from url: URL) throws {
        var state: [(String, Tensor)] = []
        for (name, array) in try NPZ.readOrdered(from: url) {
            state.append((name, Tensor(npy: array)))
        }
        do {
            try loadStateDict(state)
        } catch let error as TrainerStateError {
            throw TrainerStateError("\(url.path): \(error.message)")
        }
    }

    /// Writes the model's parameters and buffers to `url` (default `out/model.npz`) with
    /// `Module.save(to:)`, atomically; returns the file written.
    @discardableResult
    public func saveModel(to url: URL? = nil) throws -> URL {
        let destination = url ?? out.appendingPathComponent("model.npz")
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try updater.model.save(to: destination)
        return destination
    }

    static func generatorState(_ generator: Generator) -> [(String, Tensor)] {
        let (seed, offset) = generator.state
        return [("seed", Tensor([Int64(bitPattern: seed)], shape: [])),
                ("offset", Tensor([Int64(bitPattern: offset)], shape: []))]
    }

    static func generatorState(from state: [(String, Tensor)], name: String) throws -> (seed: UInt64, offset: UInt64) {
        func value(_ key: String) throws -> UInt64 {
            let tensor = try StateCoding.require(state, key, in: name)
            guard tensor.dtype == .int64, tensor.count == 1 else {
                throw TrainerStateError("\(name)/\(key): expected an int64 scalar, found \(tensor.dtype) \(tensor.shape)")
            }
            return UInt64(bitPattern: tensor.toArray(of: Int64.self)[0])
        }
        return (try value("seed"), try value("offset"))
    }
}
