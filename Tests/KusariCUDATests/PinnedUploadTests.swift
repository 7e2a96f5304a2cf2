import Foundation
import Testing
@testable import Kusari
@testable import KusariCUDA

/// Pinned host tensors uploaded asynchronously on the GPU (skipped with a message without one):
/// the data lands, kernels queued after the upload see it, and the pinned buffer is kept until
/// the copy's event has completed, also when a new pinned buffer is asked for meanwhile.
@Suite(.serialized)
struct PinnedUploadTests {
    @Test func aPinnedUploadLandsAndItsBufferIsKeptUntilTheCopyCompleted() throws {
        guard let gpu = GPU.orSkip("the pinned upload test") else { return }
        let device = gpu.backend.device, pool = gpu.context.pinnedPool
        try gpu.context.synchronize()
        try pool.releaseCompleted()
        #expect(pool.heldCount == 0)
        let count = 1 << 22
        let values = (0..<count).map { Float($0 % 1013) - 500 }
        weak var pinnedStorage: Storage?
        let uploaded: Tensor = try {
            let host = try Tensor(pinnedShape: [count], for: device)
            host.assign(Tensor(values, shape: [count]))
            #expect(host.isPinned && host.device == .cpu)
            pinnedStorage = host.storage
            return try host.to(device: device, nonBlocking: true)
        }()
        // The copy was only queued: the pool holds the pinned memory although the tensor is gone.
        #expect(pool.heldCount == 1 && pinnedStorage != nil)
        // Queued on the same stream, the kernel runs after the copy.
        let doubled = (uploaded * 2).scalars
        #expect(doubled == values.map { $0 * 2 })
        try pool.releaseCompleted()
        #expect(pool.heldCount == 0 && pinnedStorage == nil)
    }

    @Test func pinnedBuffersAreNotReusedWhileACopyMayReadThem() throws {
        guard let gpu = GPU.orSkip("the pinned buffer reuse test") else { return }
        let device = gpu.backend.device
        let count = 1 << 23  // 32 MiB a copy: long enough to still run when the next buffer is asked for
        var uploads: [(Tensor, Float)] = []
        for round in 0..<8 {
            let value = Float(round + 1)
            let host = try Tensor(pinnedShape: [count], for: device)
            host.withUnsafeMutableFloats { $0.update(repeating: value) }
            uploads.append((try host.to(device: device, nonBlocking: true), value))
            // `host` goes away here: its buffer may only serve a later round once the copy ran.
        }
        for (round, (tensor, value)) in uploads.enumerated() {
            let minimum = tensor.min().item(), maximum = tensor.max().item()
            #expect(minimum == value && maximum == value, "round \(round)")
        }
    }
}
