import Foundation
import Kusari
import KusariTestSupport
import Testing

/// The emulated GPU these tests pin memory for (its own ordinal, so other suites do not mix in).
private let emulated = EmulatedDevice.install(ordinal: 17)
/// A backend without pinned memory, to check the fallbacks.
private let minimal = MinimalDeviceBackend.install(ordinal: 12)

/// Pinned host tensors and asynchronous uploads: values, which copy path runs, and that pinned
/// memory is given back only once neither the tensor nor a queued copy needs it.
@Suite(.serialized)
struct PinnedMemoryTests {
    @Test func aPinnedTensorUploadsAsynchronouslyAndIsKeptUntilTheCopyCompletes() throws {
        emulated.completeAsynchronousCopies()
        #expect(emulated.pinnedLiveBytes == 0)
        let copiesBefore = emulated.asynchronousCopies
        weak var pinnedStorage: Storage?
        let onDevice: Tensor = try {
            let host = try Tensor(pinnedShape: [2, 3], for: emulated.device)
            host.assign(Tensor([Float(1), -2, 3.5, 4, 5, 6], shape: [2, 3]))
            #expect(host.isPinned && host.device == .cpu && emulated.pinnedLiveBytes == 24)
            pinnedStorage = host.storage
            return try host.to(device: emulated.device, nonBlocking: true)
        }()
        #expect(emulated.asynchronousCopies == copiesBefore + 1)
        // The tensor is gone, but the queued copy still holds its pinned memory.
        #expect(pinnedStorage != nil && emulated.copiesInFlight == 1 && emulated.pinnedLiveBytes == 24)
        emulated.completeAsynchronousCopies()
        #expect(pinnedStorage == nil && emulated.pinnedLiveBytes == 0)
        #expect(onDevice.device == emulated.device && onDevice.shape == [2, 3])
        #expect(onDevice.scalars == [1, -2, 3.5, 4, 5, 6])
    }

    @Test func onlyNonBlockingUploadsOfPinnedContiguousTensorsAreAsynchronous() throws {
        let pinned = try Tensor([Float(1), 2, 3, 4, 5, 6], shape: [2, 3]).pinned(for: emulated.device)
        let ordinary = Tensor([Float(1), 2, 3, 4, 5, 6], shape: [2, 3])
        let before = emulated.asynchronousCopies
        let blocking = try pinned.to(device: emulated.device)
        let unpinned = try ordinary.to(device: emulated.device, nonBlocking: true)
        let transposed = try pinned.transpose().to(device: emulated.device, nonBlocking: true)
        #expect(emulated.asynchronousCopies == before)
        let labels = try Tensor([Int32(7), -3], shape: [2]).pinned(for: emulated.device)
            .to(device: emulated.device, nonBlocking: true)
        #expect(emulated.asynchronousCopies == before + 1)
        #expect(blocking.scalars == [1, 2, 3, 4, 5, 6] && unpinned.scalars == [1, 2, 3, 4, 5, 6])
        #expect(transposed.scalars == [1, 4, 2, 5, 3, 6])
        #expect(try labels.to(device: .cpu).toArray(of: Int32.self) == [7, -3])
    }

    @Test func pinnedCopiesHoldTheValuesInRowMajorOrder() throws {
        let x = Tensor([Float(1), 2, 3, 4, 5, 6], shape: [2, 3])
        let pinned = try x.pinned(for: emulated.device)
        #expect(pinned.isPinned && !x.isPinned && pinned.storage !== x.storage && pinned.scalars == x.scalars)
        #expect(try pinned.pinned(for: emulated.device) === pinned)
        let transposed = try pinned.transpose().pinned(for: emulated.device)
        #expect(transposed.isPinned && transposed.isContiguous && transposed.scalars == [1, 4, 2, 5, 3, 6])
        // From device memory: downloaded first.
        let fromDevice = try x.to(device: emulated.device).pinned(for: emulated.device)
        #expect(fromDevice.isPinned && fromDevice.device == .cpu && fromDevice.scalars == [1, 2, 3, 4, 5, 6])
        let empty = try Tensor(pinnedShape: [0, 4], for: emulated.device)
        #expect(empty.isPinned && empty.count == 0)
        #expect(try empty.to(device: emulated.device, nonBlocking: true).shape == [0, 4])
    }

    @Test func withoutPinnedMemoryPinningThrowsAndUploadsStaySynchronous() throws {
        #expect {
            _ = try Tensor(pinnedShape: [3], for: minimal.device)
        } throws: { error in
            String(describing: error).contains("offers no pinned host memory")
        }
        #expect {
            _ = try Tensor([Float(1)]).pinned(for: .cuda(57))
        } throws: { error in
            String(describing: error).contains("no GPU backend serves it")
        }
        // A tensor pinned for another device still uploads here, with the default (blocking) copy.
        let pinned = try Tensor([Float(2), 4, 8], shape: [3]).pinned(for: emulated.device)
        let copies = minimal.copies, asynchronous = emulated.asynchronousCopies
        let moved = try pinned.to(device: minimal.device, nonBlocking: true)
        #expect(minimal.copies == copies + 1 && emulated.asynchronousCopies == asynchronous)
        #expect(moved.device == minimal.device)
        #expect(try moved.to(device: .cpu).scalars == [2, 4, 8])
    }
}
