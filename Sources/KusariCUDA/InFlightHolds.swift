import Foundation

/// Objects that work queued on one stream may still read, each kept alive until a marker
/// recorded on the stream after that work reports completion.
///
/// A stream runs its work in order, so markers complete in the order they were recorded:
/// ``releaseCompleted(where:)`` lets go of holds oldest first and stops at the first marker
/// still pending. All methods are thread-safe.
final class InFlightHolds<Marker>: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(marker: Marker, owner: AnyObject)] = []

    /// Holds not yet released.
    var count: Int { lock.withLock { entries.count } }

    /// Keeps `owner` until `marker` completes.
    func hold(_ owner: AnyObject, until marker: Marker) {
        lock.withLock { entries.append((marker, owner)) }
    }

    /// Lets go, oldest first, of the holds whose markers `isComplete` reports finished, up to the
    /// first that has not; returns how many were released. The owners (and markers) are dropped
    /// after the lock is given up, so their deinitialisers may use this object.
    /// - Throws: what `isComplete` throws; the holds released before it threw stay released.
    @discardableResult
    func releaseCompleted(where isComplete: (Marker) throws -> Bool) rethrows -> Int {
        lock.lock()
        var completed = 0
        do {
            while completed < entries.count, try isComplete(entries[completed].marker) { completed += 1 }
        } catch {
            release(first: completed)
            throw error
        }
        release(first: completed)
        return completed
    }

    /// Removes the `count` oldest holds, gives up the lock and only then drops them.
    private func release(first count: Int) {
        let released = entries.prefix(count)
        entries.removeFirst(count)
        lock.unlock()
        withExtendedLifetime(released) {}
    }
}
