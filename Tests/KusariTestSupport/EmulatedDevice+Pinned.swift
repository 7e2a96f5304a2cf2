import Foundation
import Kusari

/// Pinned-memory bookkeeping per emulated device, by device (the emulator's own state is private
/// to its file).
private let pinnedLedgers = PinnedLedgers()

/// The emulated pinned memory and asynchronous copies of one device.
private final class PinnedLedger: @unchecked Sendable {
    let lock = NSLock()
    var liveBytes = 0
    var allocations = 0
    var asynchronousCopies = 0
    /// What queued copies keep alive, oldest first.
    var inFlight: [AnyObject] = []
}

/// A lock-protected ledger per device.
private final class PinnedLedgers: @unchecked Sendable {
    private let lock = NSLock()
    private var ledgers: [Device: PinnedLedger] = [:]

    func ledger(_ device: Device) -> PinnedLedger {
        lock.withLock {
            if let ledger = ledgers[device] { return ledger }
            let ledger = PinnedLedger()
            ledgers[device] = ledger
            return ledger
        }
    }
}

/// Ordinary host memory standing in for a page-locked block; counted in its ledger until deinit.
private final class EmulatedPinnedBlock {
    let data: UnsafeMutableRawPointer
    let byteCount: Int
    private let ledger: PinnedLedger

    init(byteCount: Int, ledger: PinnedLedger) {
        data = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        self.byteCount = byteCount
        self.ledger = ledger
        ledger.lock.withLock {
            ledger.liveBytes += byteCount
            ledger.allocations += 1
        }
    }

    deinit {
        ledger.lock.withLock { ledger.liveBytes -= byteCount }
        data.deallocate()
    }
}

extension EmulatedDevice {
    private var pinnedLedger: PinnedLedger { pinnedLedgers.ledger(device) }

    /// Bytes of (emulated) pinned host memory handed out and not yet given back.
    public var pinnedLiveBytes: Int { pinnedLedger.lock.withLock { pinnedLedger.liveBytes } }
    /// Pinned allocations made so far.
    public var pinnedAllocations: Int { pinnedLedger.lock.withLock { pinnedLedger.allocations } }
    /// Asynchronous host-to-device copies so far.
    public var asynchronousCopies: Int { pinnedLedger.lock.withLock { pinnedLedger.asynchronousCopies } }
    /// Owners that queued asynchronous copies still hold (see ``completeAsynchronousCopies()``).
    public var copiesInFlight: Int { pinnedLedger.lock.withLock { pinnedLedger.inFlight.count } }

    /// Lets the queued asynchronous copies "complete", as a GPU's stream eventually does: what
    /// they kept alive is let go (pinned memory nobody else holds is given back).
    public func completeAsynchronousCopies() {
        let released = pinnedLedger.lock.withLock {
            defer { pinnedLedger.inFlight.removeAll() }
            return pinnedLedger.inFlight
        }
        withExtendedLifetime(released) {}
    }

    /// `byteCount` bytes of ordinary host memory standing in for pinned memory, counted in
    /// ``pinnedLiveBytes`` until the allocation and every copy holding it are gone. Like the CUDA
    /// backend, it first completes the copies queued before (``completeAsynchronousCopies()``).
    public func allocatePinnedHost(byteCount: Int) throws -> PinnedHostAllocation? {
        completeAsynchronousCopies()
        let block = EmulatedPinnedBlock(byteCount: byteCount, ledger: pinnedLedger)
        return PinnedHostAllocation(data: block.data, byteCount: block.byteCount, owner: block)
    }

    /// Copies at once (a plain copy, counted in ``transfers`` and ``asynchronousCopies``), but
    /// holds `owner` as if the copy were still queued on a GPU's stream, until the next
    /// asynchronous copy or pinned allocation, or ``completeAsynchronousCopies()``.
    public func copyAsync(fromHost source: UnsafeRawPointer, toDevice destination: UnsafeMutableRawPointer,
                          byteCount: Int, keepingAlive owner: AnyObject) throws {
        completeAsynchronousCopies()
        try copy(fromHost: source, toDevice: destination, byteCount: byteCount)
        pinnedLedger.lock.withLock {
            pinnedLedger.asynchronousCopies += 1
            pinnedLedger.inFlight.append(owner)
        }
    }
}
