import Foundation
import Testing
@testable import Kusari
@testable import KusariCUDA

/// The queue of deferred label and index checks (on the CPU), and on a GPU that a bad label or
/// index is reported by the next read of device data rather than at the launch.
struct DeferredChecksTests {
    private struct Found: Error, Equatable { let id: Int }

    @Test func checksRunOnceOldestFirstAndTheFirstFailureIsThrown() throws {
        let checks = DeferredChecks()
        var ran: [Int] = []
        try checks.add { ran.append(1) }
        try checks.add { ran.append(2); throw Found(id: 2) }
        try checks.add { ran.append(3); throw Found(id: 3) }
        #expect(ran.isEmpty && checks.count == 3)
        #expect(throws: Found(id: 2)) { try checks.runAll() }
        #expect(ran == [1, 2] && checks.count == 0)
        try checks.runAll()
        #expect(ran == [1, 2])
    }

    @Test func aCheckMayReadDeviceMemoryWhichRunsTheQueueAgain() throws {
        let checks = DeferredChecks()
        var nested = 0
        try checks.add { try checks.runAll(); nested += 1 }
        try checks.runAll()
        #expect(nested == 1)
    }

    @Test func aFullQueueRunsBeforeTakingMore() throws {
        let checks = DeferredChecks(limit: 2)
        var ran = 0
        try checks.add { ran += 1 }
        try checks.add { ran += 1 }
        #expect(ran == 0)
        try checks.add { ran += 1 }
        #expect(ran == 2 && checks.count == 1)
        let failing = DeferredChecks(limit: 1)
        try failing.add { throw Found(id: 7) }
        #expect(throws: Found(id: 7)) { try failing.add {} }
    }

    @Test func badLabelsAndIndicesAreReportedByTheNextRead() throws {
        guard let gpu = GPU.orSkip("the deferred label/index check test") else { return }
        let device = gpu.backend.device
        let logits = try Tensor.zeros([3, 4]).to(device: device)
        let labels = try Tensor([Int32(1), 9, 2], shape: [3]).to(device: device)
        let losses = softmaxCrossEntropy(logits, labels, reduction: .none)
        #expect(gpu.backend.deferredChecks.count == 1)
        let labelError = #expect(throws: KusariError.self) { try losses.to(device: .cpu) }
        #expect(labelError?.description == "invalid argument: softmaxCrossEntropy label 9 at row 1 is outside 0..<4")
        #expect(gpu.backend.deferredChecks.count == 0)
        // Valid labels: the check passes silently at the read.
        let good = try Tensor([Int32(1), 3, 0], shape: [3]).to(device: device)
        let values = try softmaxCrossEntropy(logits, good, reduction: .none).to(device: .cpu).scalars
        #expect(values.allSatisfy { abs($0 - log(4)) < 1e-6 })

        let table = try Tensor.ones([5, 2]).to(device: device)
        let rows = try gpu.backend.gatherRows(table, indices: try Tensor([Int64(0), 4, 5], shape: [3]).to(device: device))
        let indexError = #expect(throws: KusariError.self) { try rows.to(device: .cpu) }
        #expect(indexError?.description
                == "invalid argument: gatherRows: index 5 at position 2 is out of range for axis 0 of size 5")
    }
}
