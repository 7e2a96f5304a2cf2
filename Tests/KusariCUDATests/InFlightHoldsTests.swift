import Foundation
import Testing
@testable import KusariCUDA

/// The keep-alive list behind asynchronous uploads from pinned memory, with fake stream markers
/// (runs without a GPU): owners are released oldest first, only once their marker completed.
struct InFlightHoldsTests {
    /// A stand-in for a recorded event.
    final class Marker {
        var completed = false
        var failure: String?
    }

    struct QueryFailed: Error {
        let message: String
    }

    @Test func ownersAreReleasedInOrderOnceTheirMarkersComplete() throws {
        let holds = InFlightHolds<Marker>()
        let markers = [Marker(), Marker(), Marker()]
        weak var first: AnyObject?, second: AnyObject?, third: AnyObject?
        do {
            let owners = [NSObject(), NSObject(), NSObject()]
            (first, second, third) = (owners[0], owners[1], owners[2])
            for (owner, marker) in zip(owners, markers) { holds.hold(owner, until: marker) }
        }
        #expect(holds.count == 3 && first != nil && second != nil && third != nil)
        #expect(holds.releaseCompleted { $0.completed } == 0)
        markers[0].completed = true
        markers[2].completed = true
        // The second marker is still pending, so the third hold stays although its marker is done.
        #expect(holds.releaseCompleted { $0.completed } == 1)
        #expect(holds.count == 2 && first == nil && second != nil && third != nil)
        markers[1].completed = true
        #expect(holds.releaseCompleted { $0.completed } == 2)
        #expect(holds.count == 0 && second == nil && third == nil)
    }

    @Test func aFailingQueryKeepsTheHoldsItCouldNotCheck() {
        let holds = InFlightHolds<Marker>()
        let markers = [Marker(), Marker(), Marker()]
        markers[0].completed = true
        markers[1].failure = "illegal address"
        for marker in markers { holds.hold(NSObject(), until: marker) }
        #expect(throws: QueryFailed.self) {
            try holds.releaseCompleted { marker in
                if let failure = marker.failure { throw QueryFailed(message: failure) }
                return marker.completed
            }
        }
        #expect(holds.count == 2)
    }
}
