import Foundation
import Kusari
import KusariTestSupport
import Testing

/// The core's device plumbing (storage ownership, copies, `to(device:)`, `moveData(to:)`) on an
/// emulated GPU whose "device memory" is host memory and which counts what it holds and copies.
struct DeviceTransferTests {
    @Test func roundTripThroughADeviceKeepsValuesAndFreesMemory() throws {
        let device = EmulatedDevice.install(ordinal: 7)
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
            #expect(device.transfers == 4)
            // A strided view of device memory comes back through one device-side copy.
            let view = try onDevice.transpose().to(device: .cpu)
            #expect(view.scalars == [1, 2, 3, 4, 5, 6] && device.calls["copy"] == 1 && device.transfers == 5)
        }()
        #expect(device.liveBytes == 0)
    }

    @Test func movingDataInPlaceKeepsTheTensorAndItsGradient() throws {
        let device = EmulatedDevice.install(ordinal: 8)
        let parameter = Tensor([Float(1), -2, 3], shape: [3]).requiringGrad()
        (parameter * parameter).sum().backward()
        try parameter.moveData(to: .cuda(8))
        #expect(parameter.device == .cuda(8) && parameter.requiresGrad && parameter.grad?.device == .cuda(8))
        #expect(parameter.scalars == [1, -2, 3] && parameter.grad?.scalars == [2, -4, 6] && device.liveBytes == 24)
        try parameter.moveData(to: .cpu)
        #expect(parameter.device == .cpu && parameter.grad?.device == .cpu && parameter.grad?.scalars == [2, -4, 6])
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
