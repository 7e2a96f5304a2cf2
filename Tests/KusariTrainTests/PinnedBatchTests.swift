import Foundation
import Kusari
import KusariData
import KusariTestSupport
import Testing
@testable import KusariTrain

/// The emulated GPU these tests pin batches for (its own ordinal, so other suites do not mix in).
private let emulated = EmulatedDevice.install(ordinal: 13)
/// A backend without pinned memory, to check the fallback.
private let minimal = MinimalDeviceBackend.install(ordinal: 14)

/// `DataLoader(pinnedFor:)` and `pinMemory(for:)` hand out batches in pinned memory with the
/// values of ordinary ones, `Batch.to(device:)` uploads them asynchronously, and the pinned
/// memory is given back once loaders, batches and copies are done with it.
@Suite(.serialized)
struct PinnedBatchTests {
    /// The loader configurations compared: fast path, per-example transform, batch transform.
    enum Path: CaseIterable {
        case direct, transformed, batchTransformed
    }

    func loader(_ path: Path, workers: Int, pinnedFor device: Device?) -> DataLoader<ImageDataset> {
        let data = Shapes.make(count: 10, seed: 5)
        switch path {
        case .direct:
            return DataLoader(data, batchSize: 4, seed: 3, workers: workers, pinnedFor: device)
        case .transformed:
            return DataLoader(data, batchSize: 4, seed: 3, transform: RandomHorizontalFlip(), workers: workers,
                              pinnedFor: device)
        case .batchTransformed:
            return DataLoader(data, batchSize: 4, seed: 3, workers: workers,
                              batchTransform: MeanSubtraction(mean: [0.25, 0.5, 0.75]), pinnedFor: device)
        }
    }

    /// The next `count` batches' inputs and labels as plain arrays, with whether each was pinned.
    func drain(_ source: DataLoader<ImageDataset>, _ count: Int) -> [(inputs: [Float], labels: [Int32], pinned: Bool)] {
        (0..<count).map { _ in
            let batch = source.next()!
            return (batch.inputs.scalars, batch.labels.toArray(of: Int32.self),
                    batch.inputs.isPinned && batch.labels.isPinned)
        }
    }

    @Test(arguments: Path.allCases, [0, 2])
    func pinnedLoadersGiveTheValuesOfOrdinaryOnes(path: Path, workers: Int) throws {
        // Seven batches: past the end of the first epoch (10 examples, batches of 4).
        let expected = drain(loader(path, workers: workers, pinnedFor: nil), 7)
        let pinned = drain(loader(path, workers: workers, pinnedFor: emulated.device), 7)
        #expect(expected.allSatisfy { !$0.pinned } && pinned.allSatisfy(\.pinned))
        for (batch, (wanted, got)) in zip(expected, pinned).enumerated() {
            #expect(got.inputs == wanted.inputs && got.labels == wanted.labels, "batch \(batch)")
        }
        #expect(expected.map(\.labels.count) == [4, 4, 2, 4, 4, 2, 4])
        emulated.completeAsynchronousCopies()
        #expect(emulated.pinnedLiveBytes == 0)
    }

    @Test func pinningAfterCreationAppliesFromTheNextBatch() throws {
        let source = loader(.direct, workers: 2, pinnedFor: nil)
        let reference = drain(loader(.direct, workers: 0, pinnedFor: nil), 3)
        #expect(source.pinnedDevice == nil)
        let first = drain(source, 1)
        source.pinMemory(for: emulated.device)
        #expect(source.pinnedDevice == emulated.device)
        let rest = drain(source, 2)
        #expect(!first[0].pinned && rest.allSatisfy(\.pinned))
        #expect(zip(first + rest, reference).allSatisfy { $0.inputs == $1.inputs && $0.labels == $1.labels })
        source.pinMemory(for: .cpu)
        #expect(source.pinnedDevice == nil && !drain(source, 1)[0].pinned)
    }

    @Test func pinnedBatchesUploadAsynchronouslyAndGiveTheirMemoryBack() throws {
        emulated.completeAsynchronousCopies()
        #expect(emulated.pinnedLiveBytes == 0)
        let allocationsBefore = emulated.pinnedAllocations
        try {
            // No workers: nothing allocates (and so completes copies) behind the test's back.
            let source = loader(.transformed, workers: 0, pinnedFor: emulated.device)
            let reference = loader(.transformed, workers: 0, pinnedFor: nil)
            for _ in 0..<4 {
                let batch = source.next()!, expected = reference.next()!
                let copies = emulated.asynchronousCopies
                let moved = try batch.to(device: emulated.device)
                #expect(emulated.asynchronousCopies == copies + 2)
                #expect(moved.inputs.device == emulated.device && moved.labels.device == emulated.device)
                #expect(moved.inputs.scalars == expected.inputs.scalars)
                #expect(try moved.labels.to(device: .cpu).toArray(of: Int32.self) == expected.labels.toArray(of: Int32.self))
            }
            #expect(emulated.pinnedLiveBytes > 0)
        }()
        // The loader and batches are gone; the last copy still holds the labels' pinned memory.
        #expect(emulated.copiesInFlight == 1 && emulated.pinnedAllocations > allocationsBefore)
        emulated.completeAsynchronousCopies()
        #expect(emulated.pinnedLiveBytes == 0)
    }

    @Test func withoutPinnedMemoryLoadersFallBackToOrdinaryMemory() throws {
        let expected = drain(loader(.direct, workers: 2, pinnedFor: nil), 3)
        let source = loader(.direct, workers: 2, pinnedFor: minimal.device)
        #expect(source.pinnedDevice == minimal.device)
        let batch = source.next()!
        #expect(!batch.inputs.isPinned && !batch.labels.isPinned)
        let copies = minimal.copies
        let moved = try batch.to(device: minimal.device)
        #expect(minimal.copies == copies + 2)
        #expect(try moved.inputs.to(device: .cpu).scalars == expected[0].inputs)
        let rest = drain(source, 2)
        #expect(zip(rest, expected.dropFirst()).allSatisfy { !$0.pinned && $0.inputs == $1.inputs && $0.labels == $1.labels })
    }
}
