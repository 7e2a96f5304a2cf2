import Foundation
import Kusari
import KusariTestSupport
import Testing

/// The emulated GPU the dispatch tests share, registered once as an unusual ordinal.
private let emulated = EmulatedDevice.install(ordinal: 3)

/// Every op of the core (``OpParityCatalogue``), run on the emulated GPU and compared with the
/// CPU: values, gradients, in-place updates and generator states, and the backend methods each
/// case names must have run. Serialized so that the call counters of the shared device only
/// move for the case that checks them.
@Suite(.serialized)
struct DeviceDispatchTests {
    @Test(arguments: OpParityCatalogue.all.map(\.name))
    func matchesTheCPU(_ name: String) throws {
        let parityCase = try #require(OpParityCatalogue.named(name))
        let before = emulated.calls
        for failure in OpParity.check(parityCase, on: emulated.device, tolerances: .emulated) {
            Issue.record("\(failure)")
        }
        let after = emulated.calls
        for method in parityCase.methods {
            #expect(after[method, default: 0] > before[method, default: 0], "\(method) did not run on the device")
        }
    }

    @Test func caseNamesAreUnique() {
        let repeated = Dictionary(grouping: OpParityCatalogue.all.map(\.name)) { $0 }.filter { $0.value.count > 1 }.keys
        #expect(repeated.isEmpty, "repeated case names: \(repeated.sorted())")
    }

    @Test func outOfRangeLabelsAndIndicesStopTheProcess() async {
        let label = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let logits = try Tensor.zeros([2, 3]).to(device: emulated.device)
            _ = softmaxCrossEntropy(logits, try Tensor([Int64(0), 3]).to(device: emulated.device))
        }
        let index = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let table = try Tensor.zeros([4, 2]).to(device: emulated.device)
            _ = embedding(try Tensor([Int64(4)]).to(device: emulated.device), table)
        }
        for (result, message) in [(label, "label 3 is outside 0..<3"), (index, "index 4 is outside 0..<4")] {
            let output = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
            #expect(output.contains(message), "\(output)")
        }
    }
}
