import Foundation
import Testing
@testable import Kusari
@testable import KusariCUDA

/// Host→device copies of up to ``CUDABackend/smallCopyLimit`` bytes travel in a kernel's
/// arguments (no wait for the GPU); they must land byte for byte like the synchronised copies.
struct SmallUploadTests {
    @Test func smallUploadsLandExactly() throws {
        guard let gpu = GPU.orSkip("the small upload test") else { return }
        let device = gpu.backend.device
        for count in 1...(CUDABackend.smallCopyLimit + 3) {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: 0xA5 &+ $0 &* 37) }
            let moved = try Tensor(bytes, shape: [count]).to(device: device)
            #expect(try moved.to(device: .cpu).toArray(of: UInt8.self) == bytes, "\(count) bytes")
        }
        // A scalar moved implicitly, then reused at once on the host for another value.
        let x = try Tensor([Float(1), 2, 3], shape: [3]).to(device: device)
        let scaled = x * 0.5 + 2
        #expect(try scaled.to(device: .cpu).scalars == [2.5, 3, 3.5])
        let offsets = try Tensor([Int64(-3)]).to(device: device)
        #expect(try offsets.to(device: .cpu).toArray(of: Int64.self) == [-3])
    }
}
