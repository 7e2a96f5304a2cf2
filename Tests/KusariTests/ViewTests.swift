import Testing
@testable import Kusari

/// Row-major values of `values` (shape `shape`) permuted so result axis i is input axis order[i].
func permuteReference(_ values: [Float], _ shape: [Int], _ order: [Int]) -> [Float] {
    let outShape = order.map { shape[$0] }
    let inStrides = Shape.contiguousStrides(shape)
    return (0..<values.count).map { flat in
        var rest = flat, source = 0
        for axis in stride(from: outShape.count - 1, through: 0, by: -1) {
            source += (rest % outShape[axis]) * inStrides[order[axis]]
            rest /= outShape[axis]
        }
        return values[source]
    }
}

struct ViewForwardTests {
    let values = testValues(24, seed: 31)
    var x: Tensor { Tensor(values, shape: [2, 3, 4]) }

    @Test func reshapeInfersOneAxisAndSharesStorage() {
        let y = x.reshape([4, -1])
        #expect(y.shape == [4, 6])
        #expect(y.scalars == values)
        let base = x
        #expect(base.reshape([-1]).storage === base.storage)
        #expect(base.reshape([2, 12]).shape == [2, 12])
    }

    @Test(arguments: [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1], [0, 2, 1], [-1, 0, 1]])
    func permuteAndContiguous(_ order: [Int]) {
        let normalized = order.map { $0 < 0 ? $0 + 3 : $0 }
        let y = x.permute(order)
        #expect(y.shape == normalized.map { [2, 3, 4][$0] })
        let expected = permuteReference(values, [2, 3, 4], normalized)
        #expect(y.scalars == expected)
        let dense = y.contiguous()
        #expect(dense.isContiguous)
        #expect(dense.toArray(of: Float.self) == expected)
        // Reshaping a permuted view must copy in the permuted order.
        #expect(y.reshape([-1]).scalars == expected)
    }

    @Test func transposeSwapsLastTwoAxes() {
        let y = x.transpose()
        #expect(y.shape == [2, 4, 3])
        #expect(y.scalars == permuteReference(values, [2, 3, 4], [0, 2, 1]))
        #expect(x.transpose(0, 2).scalars == permuteReference(values, [2, 3, 4], [2, 1, 0]))
        #expect(!y.isContiguous)
    }

    @Test func slicesWithStepsAndNegativeBounds() {
        let row = Tensor((0..<10).map(Float.init), shape: [10])
        #expect(row.slice(axis: 0, start: 2, end: 8, step: 3).scalars == [2, 5])
        #expect(row.slice(axis: 0, start: -3).scalars == [7, 8, 9])
        #expect(row.slice(axis: 0, start: 1, end: -1, step: 4).scalars == [1, 5])
        #expect(row.slice(axis: 0, start: 20).scalars == [])
        #expect(row.slice(axis: 0, start: -20, end: 2).scalars == [0, 1])
        let grid = x.slice(axis: 2, start: 1, end: 4, step: 2).slice(axis: 1, start: -2)
        #expect(grid.shape == [2, 2, 2])
        var expected: [Float] = []
        for a in 0..<2 { for b in 1..<3 { for c in [1, 3] { expected.append(values[(a * 3 + b) * 4 + c]) } } }
        #expect(grid.scalars == expected)
        // A slice is a view: it shares storage.
        let base = x
        #expect(base.slice(axis: 0, start: 1).storage === base.storage)
        #expect(base.permute([2, 0, 1]).storage === base.storage)
    }

    @Test func squeezeUnsqueezeFlattenExpand() {
        let y = Tensor(values, shape: [2, 1, 3, 1, 4])
        #expect(y.squeeze().shape == [2, 3, 4])
        #expect(y.squeeze(axis: 1).shape == [2, 3, 1, 4])
        #expect(y.squeeze(axis: -2).shape == [2, 1, 3, 4])
        #expect(y.squeeze(axis: 0).shape == [2, 1, 3, 1, 4])
        #expect(x.unsqueeze(axis: 0).shape == [1, 2, 3, 4])
        #expect(x.unsqueeze(axis: 3).shape == [2, 3, 4, 1])
        #expect(x.unsqueeze(axis: -1).shape == [2, 3, 4, 1])
        #expect(x.flatten().shape == [2, 12])
        #expect(x.flatten(startAxis: 0).shape == [24])
        #expect(x.flatten(startAxis: 0, endAxis: 1).shape == [6, 4])
        #expect(x.flatten().scalars == values)
        let column = Tensor([1, 2, 3], shape: [3, 1])
        let wide = column.expand([2, 3, 4])
        #expect(wide.shape == [2, 3, 4])
        let expectedWide: [Float] = (0..<24).map { i in Float((i / 4) % 3 + 1) }
        #expect(wide.scalars == expectedWide)
        #expect(wide.strides[0] == 0 && wide.strides[2] == 0)
    }

    @Test func flattenOfPermutedView() {
        let y = x.permute([1, 0, 2]).flatten()
        #expect(y.shape == [3, 8])
        #expect(y.scalars == permuteReference(values, [2, 3, 4], [1, 0, 2]))
    }
}

struct ViewGradientTests {
    @Test func gradientsThroughViews() {
        let x = testTensor([2, 3, 4], seed: 32)
        checkGradients([x]) { $0[0].reshape([4, -1]) }
        checkGradients([x]) { $0[0].permute([2, 0, 1]) }
        checkGradients([x]) { $0[0].transpose() * 2 }
        checkGradients([x]) { $0[0].slice(axis: 2, start: 1, end: 4, step: 2) }
        checkGradients([x]) { $0[0].slice(axis: 1, start: -2).slice(axis: 0, start: 1) }
        checkGradients([x]) { $0[0].unsqueeze(axis: 1).squeeze() }
        checkGradients([x]) { $0[0].flatten(startAxis: 0) }
        checkGradients([x]) { $0[0].permute([1, 2, 0]).contiguous().reshape([-1]) }
        checkGradients([x]) { $0[0].transpose(0, 1).flatten().exp() }
    }

    @Test func expandGradientSumsOverBroadcastAxes() {
        let column = testTensor([3, 1], seed: 33)
        checkGradients([column]) { $0[0].expand([2, 3, 4]) }
        let c = Tensor([1, 2, 3], shape: [3, 1]).requiringGrad()
        c.expand([2, 3, 4]).sum().backward()
        #expect(c.grad?.scalars == [8, 8, 8])
        #expect(c.grad?.shape == [3, 1])
    }

    @Test func sliceGradientPlacesValuesAndZeros() {
        let x = Tensor((0..<6).map(Float.init), shape: [6]).requiringGrad()
        x.slice(axis: 0, start: 1, end: 6, step: 2).backward(Tensor([10, 20, 30], shape: [3]))
        #expect(x.grad?.scalars == [0, 10, 0, 20, 0, 30])
    }
}
