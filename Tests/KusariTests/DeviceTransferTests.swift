import Foundation
import Testing
@testable import Kusari

/// A stand-in GPU whose "device memory" is host memory, counting what it allocates, so that the
/// core's device plumbing (storage ownership, copies, `to(device:)`) is tested without a GPU.
private final class HostBackedDevice: DeviceBackend, @unchecked Sendable {
    let device: Device
    private let lock = NSLock()
    private(set) var liveBytes = 0
    private(set) var copies = 0

    init(_ device: Device) { self.device = device }

    func allocate(byteCount: Int) throws -> UnsafeMutableRawPointer {
        lock.lock(); defer { lock.unlock() }
        liveBytes += byteCount
        return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    }

    func free(_ address: UnsafeMutableRawPointer, byteCount: Int) {
        lock.lock(); defer { lock.unlock() }
        liveBytes -= byteCount
        address.deallocate()
    }

    func copy(fromHost source: UnsafeRawPointer, toDevice destination: UnsafeMutableRawPointer, byteCount: Int) throws {
        lock.lock(); copies += 1; lock.unlock()
        destination.copyMemory(from: source, byteCount: byteCount)
    }

    func copy(fromDevice source: UnsafeRawPointer, toHost destination: UnsafeMutableRawPointer, byteCount: Int) throws {
        lock.lock(); copies += 1; lock.unlock()
        destination.copyMemory(from: source, byteCount: byteCount)
    }
}

struct DeviceTransferTests {
    @Test func roundTripThroughADeviceKeepsValuesAndFreesMemory() throws {
        let device = HostBackedDevice(.cuda(7))
        DeviceBackends.register(device)
        #expect(DeviceBackends.backend(for: .cuda(7)) === device && DeviceBackends.backend(for: .cpu) == nil)
        try {
            let x = Tensor([Float(1), 2, 3, 4, 5, 6], shape: [2, 3])
            // A transposed view goes over as a contiguous copy of its values.
            let onDevice = try x.transpose().to(device: .cuda(7))
            #expect(onDevice.device == .cuda(7) && onDevice.shape == [3, 2] && device.liveBytes == 24)
            #expect(try onDevice.to(device: .cuda(7)) === onDevice)
            let back = try onDevice.to(device: .cpu)
            #expect(back.device == .cpu && back.scalars == [1, 4, 2, 5, 3, 6])
            let labels = try Tensor([Int32(3), -1], shape: [2]).to(device: .cuda(7)).to(device: .cpu)
            #expect(labels.dtype == .int32 && labels.toArray(of: Int32.self) == [3, -1])
            #expect(device.copies == 4)
        }()
        #expect(device.liveBytes == 0)
    }

    @Test func aDeviceWithoutBackendIsAClearError() {
        #expect {
            _ = try Tensor([Float(1)]).to(device: .cuda(5))
        } throws: { error in
            String(describing: error).contains("cuda:5 requested, but no GPU backend serves it")
        }
    }
}
