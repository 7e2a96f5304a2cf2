import Foundation
import Testing
@testable import Kusari

struct AutodiffTests {
    @Test func gradientsAccumulateAcrossBackwardCalls() {
        let x = Tensor([1, 2, 3], shape: [3]).requiringGrad()
        (x * x).sum().backward()
        #expect(x.grad?.scalars == [2, 4, 6])
        (x * 3).sum().backward()
        #expect(x.grad?.scalars == [5, 7, 9])
        x.zeroGrad()
        #expect(x.grad == nil)
        (x * 3).sum().backward()
        #expect(x.grad?.scalars == [3, 3, 3])
    }

    @Test func detachStopsGradients() {
        let x = Tensor([2, -1], shape: [2]).requiringGrad()
        let y = x * x.detach()
        #expect(!x.detach().requiresGrad && x.detach().isLeaf)
        y.sum().backward()
        #expect(x.grad?.scalars == [2, -1])  // only the non-detached factor contributes
    }

    @Test func noGradRecordsNothing() {
        let x = Tensor([1, 2], shape: [2]).requiringGrad()
        let y = withNoGrad { (x * 2).exp().sum() }
        #expect(!y.requiresGrad)
        #expect(y.isLeaf)
        #expect(GradMode.isEnabled)
        withNoGrad { #expect(!GradMode.isEnabled) }
        let z = (x * 2).sum()
        #expect(z.requiresGrad && !z.isLeaf)
    }

    @Test func opsOnConstantsRecordNothing() {
        let a = Tensor([1, 2], shape: [2]), b = Tensor([3, 4], shape: [2])
        let c = (a * b + 1).exp()
        #expect(!c.requiresGrad && c.isLeaf)
    }

    @Test func tensorUsedTwiceGetsSummedGradient() {
        let x = Tensor([1.5, -2], shape: [2]).requiringGrad()
        let y = x.exp() + x * 3
        y.sum().backward()
        let expected = x.scalars.map { Float(Foundation.exp(Double($0))) + 3 }
        assertClose(x.grad!.scalars, expected, tolerance: 1e-6)
        // Diamond: two paths from x meeting again.
        let w = Tensor([0.5, 2], shape: [2]).requiringGrad()
        let h = w * 2
        (h * h + h).sum().backward()
        assertClose(w.grad!.scalars, w.scalars.map { 8 * $0 + 2 }, tolerance: 1e-6)
    }

    @Test func backwardOfNonScalarWithExplicitGradient() {
        let x = Tensor([1, 2, 3, 4], shape: [2, 2]).requiringGrad()
        let y = x * x
        y.backward(Tensor([1, 0, -1, 0.5], shape: [2, 2]))
        #expect(x.grad?.scalars == [2, 0, -6, 4])
    }

    @Test func retainGraphAllowsASecondPass() {
        let x = Tensor([3], shape: [1]).requiringGrad()
        let y = (x * x * x).sum()
        y.backward(retainGraph: true)
        #expect(x.grad?.scalars == [27])
        y.backward()
        #expect(x.grad?.scalars == [54])
    }

    @Test func gradientsOnlyReachLeavesThatRequireThem() {
        let a = Tensor([1, 2], shape: [2]).requiringGrad(), b = Tensor([5, 6], shape: [2])
        let c = a * b
        c.sum().backward()
        #expect(a.grad?.scalars == [5, 6])
        #expect(b.grad == nil)
        #expect(c.grad == nil)  // intermediate results keep no gradient
    }
}

struct DeviceTests {
    @Test func parsesDeviceNamesAndChainerIds() {
        #expect(Device(parsing: "cpu") == .cpu)
        #expect(Device(parsing: "-1") == .cpu)
        #expect(Device(parsing: "cuda") == .cuda(0))
        #expect(Device(parsing: "cuda:1") == .cuda(1))
        #expect(Device(parsing: "0") == .cuda(0))
        #expect(Device(parsing: "tpu") == nil)
    }

    @Test func movingToTheCPUKeepsTheTensorAndCUDAIsAClearError() throws {
        let x = Tensor([1, 2, 3] as [Float])
        #expect(try x.to(device: .cpu) === x)
        #expect(throws: KusariError.self) { try x.to(device: .cuda(0)) }
    }
}
