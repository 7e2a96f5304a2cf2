import Foundation
import Testing
@testable import Kusari
@testable import KusariCUDA

/// The queue of deferred label and index checks (on the CPU), and on a GPU that a bad label or
/// index is reported by the next read of device data rather than at the launch.
struct DeferredChecksTests {
    private struct Found: Error, Equatable { let id: Int }

    @Test func checksAreTakenOldestFirstAndTheFirstBadOneThrows() throws {
        let checks = DeferredChecks<String>()
        var reported: [String] = []
        for flag in ["a", "b", "c"] {
            checks.add(flag) { position in
                reported.append("\(flag)\(position)")
                throw Found(id: position)
            }
        }
        #expect(checks.count == 3)
        let taken = checks.takeAll()
        #expect(taken.map(\.flag) == ["a", "b", "c"] && checks.count == 0)
        #expect(throws: Found(id: 7)) { try DeferredChecks.report(taken, positions: [nil, 7, 2]) }
        #expect(reported == ["b7"])
        try DeferredChecks.report(taken, positions: [nil, nil, nil])
        #expect(reported == ["b7"])
    }

    @Test func theQueueIsFullAtItsLimit() {
        let checks = DeferredChecks<Int>(limit: 2)
        checks.add(1) { _ in }
        #expect(!checks.isFull)
        checks.add(2) { _ in }
        #expect(checks.isFull)
        _ = checks.takeAll()
        #expect(!checks.isFull)
    }

    @Test func badLabelsAndIndicesAreReportedByTheNextRead() throws {
        guard let gpu = GPU.orSkip("the deferred label/index check test") else { return }
        try Self.checkBadLabelsAndIndices(on: gpu.backend)
    }

    /// A bad label and a bad index on `backend` (used by no other test at the time) are queued
    /// as checks and reported by the next read, naming the first bad one; valid labels pass.
    static func checkBadLabelsAndIndices(on backend: CUDABackend) throws {
        let device = backend.device
        let logits = try Tensor.zeros([3, 4]).to(device: device)
        let labels = try Tensor([Int32(1), 9, 2], shape: [3]).to(device: device)
        let losses = softmaxCrossEntropy(logits, labels, reduction: .none)
        #expect(backend.deferredChecks.count == 1)
        let labelError = #expect(throws: KusariError.self) { try losses.to(device: .cpu) }
        #expect(labelError?.description == "invalid argument: softmaxCrossEntropy label 9 at row 1 is outside 0..<4")
        #expect(backend.deferredChecks.count == 0)
        // Valid labels: the check passes silently at the read.
        let good = try Tensor([Int32(1), 3, 0], shape: [3]).to(device: device)
        let values = try softmaxCrossEntropy(logits, good, reduction: .none).to(device: .cpu).scalars
        #expect(values.allSatisfy { abs($0 - log(4)) < 1e-6 })

        let table = try Tensor.ones([5, 2]).to(device: device)
        let rows = try backend.gatherRows(table, indices: try Tensor([Int64(0), 4, 5], shape: [3]).to(device: device))
        let indexError = #expect(throws: KusariError.self) { try rows.to(device: .cpu) }
        #expect(indexError?.description
                == "invalid argument: gatherRows: index 5 at position 2 is out of range for axis 0 of size 5")
    }
}
