import Foundation
import Kusari

/// Loads mini-batches of images: seeded shuffling, batching, optional drop-last, per-example
/// transforms and an optional batch transform, assembled ahead of time on worker threads.
///
/// **Determinism.** Everything a batch contains is a pure function of `(seed, epoch, position)`:
/// the order of epoch `e` is a permutation drawn from `Generator(seed: seed ^ mix(e))`, and
/// the example at position `p` of that order is transformed with
/// `ExampleRandom(seed: seed, epoch: e, position: p)`. Batches are therefore identical for any
/// number of workers (0 assembles them on the calling thread), and ``stateDict()`` — epoch,
/// position within the epoch and seed — is all a snapshot needs to resume exactly, also in the
/// middle of an epoch.
///
/// **Epochs.** Batch `b` of an epoch holds positions `b * batchSize ..< (b + 1) * batchSize` of
/// that epoch's order; the last batch is smaller unless `dropLast`, which drops it. Every
/// example is used exactly once per epoch (or at most once with `dropLast`). A repeating loader
/// moves on to the next epoch forever; a non-repeating one returns `nil` after one pass until
/// ``reset()`` (Chainer's `SerialIterator`).
///
/// **Workers.** `workers` threads assemble batches in order, up to `max(prefetch, workers)`
/// batches ahead of the consumer, into contiguous float32 `[N, C, H, W]` inputs and int32 `[N]`
/// labels; they start as soon as the loader is created (and again after ``reset()`` or
/// ``loadStateDict(_:)``), so even the first batch of an evaluation pass is usually ready when
/// asked for. Stopping early is fine: when the loader is deallocated the threads finish the batch
/// at hand and exit, and `deinit` waits for them.
///
/// **Pinned memory.** With `pinnedFor: device` (or ``pinMemory(for:)``) the workers assemble
/// batches directly in page-locked host memory of `device`'s backend, so that
/// `Batch.to(device:)` uploads them asynchronously (PyTorch's `pin_memory=True`). Values are the
/// same either way; where the backend offers no pinned memory, batches stay in ordinary memory.
public final class DataLoader<D: Dataset>: PinnedBatchSource where D.Example == LabeledImage {
    /// The examples.
    public let dataset: D
    /// Examples per batch.
    public let batchSize: Int
    /// Whether each epoch visits the examples in a fresh random order.
    public let shuffle: Bool
    /// Whether the loader runs through epochs forever (training) or stops after one (evaluation).
    public let repeating: Bool
    /// Whether a smaller final batch of an epoch is dropped.
    public let dropLast: Bool
    /// Per-example transform, run on the worker threads.
    public let transform: (any ImageTransform)?
    /// Whole-batch transform (such as ``ZCAWhitening``), run on the worker threads after the
    /// batch is assembled.
    public let batchTransform: (any BatchTransform)?
    /// Number of worker threads (0: batches are assembled by ``next()`` itself).
    public let workers: Int
    /// Batches assembled ahead of the consumer.
    public let prefetch: Int

    /// The seed of orders and augmentations (restored by ``loadStateDict(_:)``).
    public private(set) var seed: UInt64
    /// Completed epochs.
    public private(set) var epoch = 0
    /// Examples of the current epoch already returned.
    public private(set) var position = 0
    /// Whether the last batch completed an epoch.
    public private(set) var isNewEpoch = false
    /// The device whose backend supplies the batches' pinned memory; `nil` for ordinary memory.
    public var pinnedDevice: Device? { assembler.pinnedDevice }

    private let assembler: BatchAssembler<D>
    private let pipeline: BatchPipeline?
    private let depth: Int

    /// A loader over `dataset`.
    ///
    /// - Parameters:
    ///   - batchSize: examples per batch (positive).
    ///   - shuffle: a new random order every epoch; otherwise dataset order.
    ///   - repeating: run through epochs forever; otherwise stop after one pass.
    ///   - dropLast: drop the final batch of an epoch when it would be smaller than `batchSize`.
    ///   - seed: determines every epoch's order and every random augmentation.
    ///   - transform: applied to each example (on the workers), e.g. a ``Compose`` of crops and flips.
    ///   - workers: threads assembling batches; 0 assembles them synchronously in ``next()``.
    ///   - prefetch: batches prepared ahead of the consumer (at least `workers` are).
    ///   - batchTransform: applied to each assembled input batch (on the workers), e.g. ``ZCAWhitening``.
    ///   - pinnedFor: assemble batches in pinned host memory of this GPU's backend, for
    ///     asynchronous uploads to it (see ``pinMemory(for:)``); `nil`: ordinary memory.
    public init(_ dataset: D, batchSize: Int, shuffle: Bool = true, repeating: Bool = true, dropLast: Bool = false,
                seed: UInt64 = 0, transform: (any ImageTransform)? = nil, workers: Int = 2, prefetch: Int = 2,
                batchTransform: (any BatchTransform)? = nil, pinnedFor pinnedDevice: Device? = nil) {
        precondition(batchSize > 0, "DataLoader: batch size \(batchSize) is not positive")
        precondition(dataset.count > 0, "DataLoader: the dataset is empty")
        precondition(!dropLast || dataset.count >= batchSize,
                     "DataLoader: with dropLast, \(dataset.count) examples make no batch of \(batchSize)")
        precondition(workers >= 0 && prefetch >= 0, "DataLoader: negative workers \(workers) or prefetch \(prefetch)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.repeating = repeating
        self.dropLast = dropLast
        self.seed = seed
        self.transform = transform
        self.batchTransform = batchTransform
        self.workers = workers
        self.prefetch = prefetch
        assembler = BatchAssembler(dataset: dataset, shuffle: shuffle, transform: transform, batchTransform: batchTransform)
        assembler.pinnedDevice = pinnedDevice == .cpu ? nil : pinnedDevice
        depth = Swift.max(prefetch, workers)
        if workers > 0 {
            let assembler = self.assembler
            pipeline = BatchPipeline(workers: workers) { assembler.assemble($0) }
        } else {
            pipeline = nil
        }
        prime()
    }

    deinit {
        pipeline?.shutdown()
    }

    /// Mini-batches in one epoch.
    public var batchesPerEpoch: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// `epoch` plus the fraction of the current epoch already returned.
    public var epochDetail: Double {
        Double(epoch) + Double(position) / Double(dataset.count)
    }

    /// The next batch; `nil` after the single pass of a non-repeating loader.
    public func next() -> Batch? {
        if !repeating && epoch > 0 { return nil }
        guard let key = currentKey() else { return nil }
        let batch: Batch
        if let pipeline {
            batch = pipeline.take(key, then: upcoming(after: key))
        } else {
            batch = assembler.assemble(key)
        }
        advance(past: key)
        return batch
    }

    /// Assembles the batches from the next one on in page-locked host memory of `device`'s
    /// backend (`nil` or `.cpu`: ordinary memory); batches the workers prepared before are
    /// assembled again. Where the backend offers no pinned memory, or allocating it fails,
    /// batches silently stay in ordinary memory: pinning only makes uploads faster.
    public func pinMemory(for device: Device?) {
        let target = device == .cpu ? nil : device
        guard target != assembler.pinnedDevice else { return }
        pipeline?.flush()
        assembler.pinnedDevice = target
        prime()
    }

    /// Starts over at epoch 0, position 0 (the same orders as the first time).
    public func reset() {
        pipeline?.flush()
        epoch = 0
        position = 0
        isNewEpoch = false
        prime()
    }

    /// `epoch`, `position` (examples of the current epoch returned), `seed` (bit pattern),
    /// `is_new_epoch` and `dataset_size` (checked on load), as int64 scalars.
    public func stateDict() -> [(String, Tensor)] {
        [("epoch", Tensor([Int64(epoch)], shape: [])),
         ("position", Tensor([Int64(position)], shape: [])),
         ("seed", Tensor([Int64(bitPattern: seed)], shape: [])),
         ("is_new_epoch", Tensor([Int64(isNewEpoch ? 1 : 0)], shape: [])),
         ("dataset_size", Tensor([Int64(dataset.count)], shape: []))]
    }

    /// Restores a state from ``stateDict()``: the following batches are exactly those the saved
    /// loader would have returned next.
    /// - Throws: ``DatasetError`` when an entry is missing, not an integer scalar, out of range,
    ///   or saved for a dataset of another size. Nothing changes on error.
    public func loadStateDict(_ state: [(String, Tensor)]) throws {
        func integer(_ key: String) throws -> Int64 {
            guard let tensor = state.last(where: { $0.0 == key })?.1 else {
                throw DatasetError(file: "DataLoader state", location: key, message: "entry is missing, expected it among \(state.map(\.0))")
            }
            guard tensor.count == 1 else {
                throw DatasetError(file: "DataLoader state", location: key, message: "entry has shape \(tensor.shape), expected a scalar")
            }
            switch tensor.dtype {
            case .int64: return tensor.toArray(of: Int64.self)[0]
            case .int32: return Int64(tensor.toArray(of: Int32.self)[0])
            case .uint8: return Int64(tensor.toArray(of: UInt8.self)[0])
            case .float32, .float16, .bfloat16:
                let value = tensor.item()
                guard value == value.rounded(), abs(value) < 16_777_216 else {
                    throw DatasetError(file: "DataLoader state", location: key, message: "entry is \(value), expected an integer")
                }
                return Int64(value)
            }
        }
        let size = try integer("dataset_size")
        guard size == Int64(dataset.count) else {
            throw DatasetError(file: "DataLoader state", location: "dataset_size",
                               message: "state was saved for \(size) examples, expected \(dataset.count)")
        }
        let newEpoch = try integer("epoch"), newPosition = try integer("position")
        guard newEpoch >= 0, newPosition >= 0, newPosition < size else {
            throw DatasetError(file: "DataLoader state", location: "epoch/position",
                               message: "epoch \(newEpoch), position \(newPosition), expected epoch >= 0 and 0 <= position < \(size)")
        }
        let newSeed = UInt64(bitPattern: try integer("seed"))
        let newFlag = try integer("is_new_epoch") != 0
        pipeline?.flush()
        seed = newSeed
        epoch = Int(newEpoch)
        position = Int(newPosition)
        isNewEpoch = newFlag
        prime()
    }

    // MARK: - Batch sequence

    /// The `depth` batches after `key` (fewer at the end of a non-repeating pass).
    private func upcoming(after key: BatchKey) -> [BatchKey] {
        var keys: [BatchKey] = []
        var cursor = key
        while keys.count < depth, let following = self.key(after: cursor) {
            keys.append(following)
            cursor = following
        }
        return keys
    }

    /// Lets the workers start on the next batches before they are asked for.
    private func prime() {
        guard let pipeline, repeating || epoch == 0 else { return }
        let key: BatchKey?
        if epochEnds(at: position) {
            key = repeating ? makeKey(epoch: epoch + 1, start: 0) : nil
        } else {
            key = makeKey(epoch: epoch, start: position)
        }
        if let key { pipeline.submit([key] + upcoming(after: key)) }
    }

    /// Whether no further batch of the epoch starts at `start`.
    private func epochEnds(at start: Int) -> Bool {
        dropLast ? start + batchSize > dataset.count : start >= dataset.count
    }

    private func makeKey(epoch: Int, start: Int) -> BatchKey {
        BatchKey(seed: seed, epoch: epoch, start: start, count: Swift.min(batchSize, dataset.count - start))
    }

    /// The batch at the loader's position (the next epoch's first when a restored position has
    /// no batch left, which only happens with `dropLast` and a changed batch size).
    private func currentKey() -> BatchKey? {
        if epochEnds(at: position) {
            guard repeating else { return nil }
            epoch += 1
            position = 0
        }
        return makeKey(epoch: epoch, start: position)
    }

    /// The batch after `key`, `nil` at the end of a non-repeating pass.
    private func key(after key: BatchKey) -> BatchKey? {
        let next = key.start + key.count
        if epochEnds(at: next) {
            return repeating ? makeKey(epoch: key.epoch + 1, start: 0) : nil
        }
        return makeKey(epoch: key.epoch, start: next)
    }

    private func advance(past key: BatchKey) {
        position = key.start + key.count
        isNewEpoch = epochEnds(at: position)
        if isNewEpoch {
            epoch += 1
            position = 0
        }
    }
}

/// One batch: positions `start ..< start + count` of epoch `epoch`'s order under `seed`.
struct BatchKey: Hashable, Sendable {
    let seed: UInt64
    let epoch: Int
    let start: Int
    let count: Int
}

/// Builds batches from keys; a pure function of the key, safe to call from any thread.
final class BatchAssembler<D: Dataset>: @unchecked Sendable where D.Example == LabeledImage {
    let dataset: D
    let shuffle: Bool
    let transform: (any ImageTransform)?
    let batchTransform: (any BatchTransform)?
    private let lock = NSLock()
    private var orders: [(seed: UInt64, epoch: Int, order: [Int])] = []
    private var pinned: Device?

    /// The device whose backend supplies the batches' pinned memory, `nil` for ordinary memory.
    var pinnedDevice: Device? {
        get { lock.withLock { pinned } }
        set { lock.withLock { pinned = newValue } }
    }

    init(dataset: D, shuffle: Bool, transform: (any ImageTransform)?, batchTransform: (any BatchTransform)?) {
        self.dataset = dataset
        self.shuffle = shuffle
        self.transform = transform
        self.batchTransform = batchTransform
    }

    /// The Philox key of epoch `epoch`'s shuffling generator: the loader seed xor a SplitMix64
    /// hash of the epoch, so neighbouring epochs (and seeds) give unrelated orders.
    static func orderSeed(_ seed: UInt64, epoch: Int) -> UInt64 {
        var z = UInt64(epoch) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return seed ^ (z ^ (z >> 31))
    }

    /// The dataset indices of epoch `epoch` in order (cached for the few most recent epochs).
    func order(seed: UInt64, epoch: Int) -> [Int] {
        lock.lock(); defer { lock.unlock() }
        if let hit = orders.first(where: { $0.seed == seed && $0.epoch == epoch }) { return hit.order }
        let order = Generator(seed: BatchAssembler.orderSeed(seed, epoch: epoch)).permutation(dataset.count)
        orders.append((seed, epoch, order))
        if orders.count > 3 { orders.removeFirst() }
        return order
    }

    /// An uninitialised float32 host tensor, pinned for `device` when it is given and its
    /// backend supplies pinned memory (ordinary memory otherwise).
    private func hostTensor(_ shape: [Int], pinnedFor device: Device?) -> Tensor {
        if let device, let tensor = try? Tensor(pinnedShape: shape, for: device) { return tensor }
        return Tensor(uninitializedShape: shape)
    }

    /// `tensor` in pinned memory for `device` when it is given and its backend supplies pinned
    /// memory (`tensor` itself otherwise).
    private func pinnedIfPossible(_ tensor: Tensor, for device: Device?) -> Tensor {
        guard let device else { return tensor }
        return (try? tensor.pinned(for: device)) ?? tensor
    }

    func assemble(_ key: BatchKey) -> Batch {
        let order = shuffle ? self.order(seed: key.seed, epoch: key.epoch) : nil
        let pinnedDevice = self.pinnedDevice
        // A batch transform makes a new tensor, which is pinned afterwards instead.
        let assemblyDevice = batchTransform == nil ? pinnedDevice : nil
        let n = key.count
        var labels = [Int32](repeating: 0, count: n)
        var inputs: Tensor
        if transform == nil, let images = dataset as? ImageDataset {
            // Fast path: bytes straight into the batch.
            let imageSize = images.imageSize, scale = images.scale
            inputs = hostTensor([n] + images.imageShape, pinnedFor: assemblyDevice)
            inputs.withUnsafeMutableFloats { out in
                images.images.withUnsafeBufferPointer { bytes in
                    for i in 0..<n {
                        let index = order?[key.start + i] ?? key.start + i
                        let source = bytes.baseAddress! + index * imageSize
                        let target = out.baseAddress! + i * imageSize
                        for j in 0..<imageSize { target[j] = Float(source[j]) * scale }
                        labels[i] = images.labels[index]
                    }
                }
            }
        } else {
            var batch: Tensor?
            var imageShape: [Int] = []
            for i in 0..<n {
                let position = key.start + i
                let index = order?[position] ?? position
                var image = dataset.example(at: index)
                if let transform {
                    var random = ExampleRandom(seed: key.seed, epoch: key.epoch, position: position)
                    image = transform.apply(image, random: &random)
                }
                if batch == nil {
                    imageShape = image.shape
                    batch = hostTensor([n] + imageShape, pinnedFor: assemblyDevice)
                }
                precondition(image.shape == imageShape,
                             "DataLoader: example \(index) has shape \(image.shape), expected \(imageShape) like the batch's first")
                batch!.withUnsafeMutableFloats { out in
                    image.pixels.withUnsafeBufferPointer { pixels in
                        (out.baseAddress! + i * pixels.count).update(from: pixels.baseAddress!, count: pixels.count)
                    }
                }
                labels[i] = Int32(truncatingIfNeeded: image.label)
            }
            inputs = batch!
        }
        if let batchTransform { inputs = pinnedIfPossible(batchTransform.apply(batch: inputs), for: pinnedDevice) }
        return Batch(inputs: inputs, labels: pinnedIfPossible(Tensor(labels, shape: [n]), for: pinnedDevice))
    }
}

/// Worker threads turning batch keys into batches, in submission order, with results kept until
/// taken. A flush discards everything queued or ready (results of batches being assembled at
/// that moment are dropped when they arrive).
final class BatchPipeline: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [BatchKey] = []
    private var pendingHead = 0
    private var ready: [BatchKey: Batch] = [:]
    private var submitted: Set<BatchKey> = []
    private var generation = 0
    private var stopped = false
    private var running = 0
    private let produce: @Sendable (BatchKey) -> Batch

    init(workers: Int, produce: @escaping @Sendable (BatchKey) -> Batch) {
        self.produce = produce
        running = workers
        for index in 0..<workers {
            let thread = Thread { [self] in work() }
            thread.name = "kusari.dataloader.\(index)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    private func work() {
        condition.lock()
        while true {
            while pendingHead == pending.count && !stopped { condition.wait() }
            if stopped { break }
            let key = pending[pendingHead]
            pendingHead += 1
            if pendingHead == pending.count { pending.removeAll(keepingCapacity: true); pendingHead = 0 }
            let started = generation
            condition.unlock()
            let batch = produce(key)
            condition.lock()
            if started == generation && !stopped { ready[key] = batch }
            condition.broadcast()
        }
        running -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Queues those of `keys` not queued yet, in order.
    func submit(_ keys: [BatchKey]) {
        condition.lock(); defer { condition.unlock() }
        enqueue(keys)
    }

    private func enqueue(_ keys: [BatchKey]) {
        for k in keys where !submitted.contains(k) {
            submitted.insert(k)
            pending.append(k)
        }
        condition.broadcast()
    }

    /// Queues `key` and then `upcoming` (those not yet queued) and waits for `key`'s batch.
    func take(_ key: BatchKey, then upcoming: [BatchKey]) -> Batch {
        condition.lock(); defer { condition.unlock() }
        enqueue([key] + upcoming)
        while ready[key] == nil { condition.wait() }
        submitted.remove(key)
        return ready.removeValue(forKey: key)!
    }

    /// Forgets every queued and finished batch.
    func flush() {
        condition.lock(); defer { condition.unlock() }
        generation += 1
        pending.removeAll()
        pendingHead = 0
        ready.removeAll()
        submitted.removeAll()
    }

    /// Stops the workers and waits until they have exited.
    func shutdown() {
        condition.lock(); defer { condition.unlock() }
        stopped = true
        pending.removeAll()
        pendingHead = 0
        ready.removeAll()
        condition.broadcast()
        while running > 0 { condition.wait() }
    }
}
