import Foundation
import Kusari
import Testing

/// The float16 bit patterns of `values` converted by `Tensor.to(.float16)`.
private func float16Bits(_ values: [Float]) -> [UInt16] {
    Tensor(values).to(.float16).toArray(of: Float16.self).map(\.bitPattern)
}

/// The bfloat16 bit patterns of `values` converted by `Tensor.to(.bfloat16)` (read back as the
/// float32 upper halves they are).
private func bfloat16Bits(_ values: [Float]) -> [UInt16] {
    Tensor(values).to(.bfloat16).scalars.map { UInt16($0.bitPattern >> 16) }
}

/// Deterministic float32 bit patterns spread over every exponent, NaNs and infinities included.
private func scatteredBitPatterns(_ count: Int, seed: UInt64) -> [UInt32] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt32(truncatingIfNeeded: state >> 32)
    }
}

@Suite("Reduced-precision dtypes")
struct ReducedPrecisionTests {
    @Test func dtypeProperties() {
        #expect(DType.float16.byteSize == 2 && DType.bfloat16.byteSize == 2)
        #expect(DType.allCases.filter(\.isFloatingPoint) == [.float32, .float16, .bfloat16])
        #expect(Float16.dtype == .float16)
    }

    @Test func float16ReferenceBitPatterns() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3C00), (-2, 0xC000), (0.1, 0x2E66), (65504, 0x7BFF), (65519.996, 0x7BFF), (65520, 0x7C00),
            (-65520, 0xFC00), (.infinity, 0x7C00), (-.infinity, 0xFC00), (0, 0x0000), (-0.0, 0x8000),
            // Subnormals: 2^-24 is the smallest; 2^-25 is a tie that rounds to even (zero).
            (0x1p-24, 0x0001), (0x1p-25, 0x0000), (Float(0x1p-25).nextUp, 0x0001), (3 * 0x1p-25, 0x0002),
            (5 * 0x1p-25, 0x0002), (0x1p-14 - 0x1p-25, 0x0400), (0x1p-14, 0x0400), (1e-10, 0x0000),
            (-0x1p-24, 0x8001), (.leastNonzeroMagnitude, 0x0000),
            // Ties to even in the normal range.
            (1 + 0x1p-11, 0x3C00), (1 + 3 * 0x1p-11, 0x3C02), (Float(1 + 0x1p-11).nextUp, 0x3C01),
            (2048 + 1, 0x6800), (2048 + 3, 0x6802),
        ]
        #expect(float16Bits(cases.map(\.0)) == cases.map(\.1))
        let nan = float16Bits([.nan, -Float.nan, Float(bitPattern: 0x7F80_0001)])
        #expect(nan.allSatisfy { $0 & 0x7C00 == 0x7C00 && $0 & 0x03FF != 0 }, "\(nan.map { String($0, radix: 16) })")
    }

    @Test func float16MatchesSwiftsConversionOnScatteredValues() {
        let bits = scatteredBitPatterns(200_000, seed: 1) + (0..<2000).map { 0x3300_0000 + UInt32($0) * 0x2_0000 }
            + (0..<5000).map { (Float($0) * 0x1p-26).bitPattern }
        let values = bits.map { Float(bitPattern: $0) }
        let converted = float16Bits(values)
        var mismatches = 0
        for (value, half) in zip(values, converted) {
            let expected = Float16(value)
            let same = expected.isNaN ? Float16(bitPattern: half).isNaN : expected.bitPattern == half
            if !same { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func float16WideningIsExactAndRoundTrips() {
        let all = (0...UInt16.max).map { Float16(bitPattern: $0) }
        let widened = Tensor(all).to(.float32).toArray(of: Float.self)
        #expect(zip(all, widened).allSatisfy { $0.isNaN ? $1.isNaN : Float($0).bitPattern == $1.bitPattern })
        let back = Tensor(widened).to(.float16).toArray(of: Float16.self)
        #expect(zip(all, back).allSatisfy { $0.isNaN ? $1.isNaN : $0.bitPattern == $1.bitPattern })
    }

    @Test func bfloat16ReferenceBitPatterns() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3F80), (-2, 0xC000), (0, 0x0000), (-0.0, 0x8000), (.infinity, 0x7F80), (-.infinity, 0xFF80),
            (1 + 0x1p-8, 0x3F80), (1 + 3 * 0x1p-8, 0x3F82), (Float(1 + 0x1p-8).nextUp, 0x3F81),
            (.greatestFiniteMagnitude, 0x7F80), (0x1p-133, 0x0001), (Float(bitPattern: 0x3F80_7FFF), 0x3F80),
            (Float(bitPattern: 0x3F80_8000), 0x3F80), (Float(bitPattern: 0x3F81_8000), 0x3F82),
        ]
        #expect(bfloat16Bits(cases.map(\.0)) == cases.map(\.1))
        let nan = bfloat16Bits([.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFFF_FFFF)])
        #expect(nan.allSatisfy { $0 & 0x7F80 == 0x7F80 && $0 & 0x007F != 0 }, "\(nan)")
    }

    @Test func bfloat16RoundsToNearestEvenOnScatteredValues() {
        let bits = scatteredBitPatterns(100_000, seed: 2).filter { !Float(bitPattern: $0).isNaN }
        let converted = bfloat16Bits(bits.map { Float(bitPattern: $0) })
        var mismatches = 0
        for (bits, half) in zip(bits, converted) {
            // Nearest of the two neighbours by exact integer distance, ties to the even one.
            let low = bits & 0xFFFF_0000, remainder = bits & 0xFFFF
            let up = remainder > 0x8000 || (remainder == 0x8000 && (low >> 16) & 1 == 1)
            if UInt16((low >> 16) + (up ? 1 : 0)) != half { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func bfloat16RoundTripsEveryPattern() {
        let values = (0...UInt32(UInt16.max)).map { Float(bitPattern: $0 << 16) }.filter { !$0.isNaN }
        let back = Tensor(values).to(.bfloat16).to(.float32).toArray(of: Float.self)
        #expect(back.map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test func conversionsBetweenReducedDtypesRoundOnce() {
        // 1 + 2^-8 + 2^-10 is a float16 value; as bfloat16 it rounds up to 1 + 2^-7.
        let half = Tensor([1 + 0x1p-8 + 0x1p-10, 65504, 3e38] as [Float]).to(.float16)
        #expect(half.to(.bfloat16).scalars == [1 + 0x1p-7, 65536, .infinity])
        #expect(Tensor([1 + 0x1p-7, 1e6] as [Float]).to(.bfloat16).to(.float16).scalars == [1 + 0x1p-7, .infinity])
    }

    @Test func integerConversions() {
        #expect(Tensor([Int32(3), -7, 70000]).to(.float16).scalars == [3, -7, .infinity])
        #expect(Tensor([Int64(257), -4]).to(.bfloat16).scalars == [256, -4])
        #expect(Tensor([UInt8(255)]).to(.float16).scalars == [255])
        #expect(Tensor([2.5, -3.75] as [Float]).to(.float16).to(.int64).toArray(of: Int64.self) == [2, -3])
        #expect(Tensor([200.5] as [Float]).to(.bfloat16).to(.uint8).toArray(of: UInt8.self) == [200])
        #expect(Tensor.arange(0, 3, dtype: .bfloat16).scalars == [0, 1, 2])
    }

    @Test func gradientFlowsThroughConversions() {
        let x = Tensor([0.5, -1.25, 3] as [Float]).requiringGrad()
        // The gradient of x.to(.float16) is converted back: 1 + 2^-12 rounds to 1 in float16.
        let c = Tensor([1 + 0x1p-12, 2, -0.1] as [Float])
        (x.to(.float16).to(.float32) * c).sum().backward()
        #expect(x.grad?.dtype == .float32)
        #expect(x.grad?.scalars == [1, 2, Float(Float16(-0.1))])
        let y = Tensor([1, 2] as [Float]).requiringGrad()
        (y.to(.bfloat16).to(.float32) * Tensor([1 + 0x1p-9, 1] as [Float])).sum().backward()
        #expect(y.grad?.scalars == [1, 1])
        #expect(!Tensor([1, 2] as [Float]).requiringGrad().to(.int32).requiresGrad)
    }

    @Test func viewsCopiesFillAndAssign() {
        let base = Tensor((0..<6).map { Float($0) + 0.25 }, shape: [2, 3])
        let half = base.to(.float16)
        #expect(half.transpose().contiguous().scalars == [0.25, 3.25, 1.25, 4.25, 2.25, 5.25])
        #expect(half.slice(axis: 1, start: 1, end: 3).scalars == [1.25, 2.25, 4.25, 5.25])
        #expect(half.reshape([3, 2]).expand([2, 3, 2]).contiguous().scalars.count == 12)
        let filled = Tensor.full([2, 2], 0.1, dtype: .bfloat16)
        #expect(filled.scalars == [Float](repeating: Float(bitPattern: 0x3DCD_0000), count: 4))
        let ones = Tensor.ones([3], dtype: .float16)
        #expect(ones.toArray(of: Float16.self) == [1, 1, 1])
        #expect(Tensor.zeros([2], dtype: .bfloat16).scalars == [0, 0])
        ones.assign(Tensor([7, 8, 9] as [Float]).to(.float16))
        #expect(ones.scalars == [7, 8, 9])
        #expect(Tensor(scalar: 1.5).to(.float16).item() == 1.5)
        #expect(Tensor([0.5, -2] as [Float]).to(.float16).description == "Tensor(shape: [2], dtype: float16, [0.5, -2.0])")
    }

    @Test func npyKeepsFloat16AndWritesBFloat16AsFloat32() throws {
        let half = Tensor([0.1, 65504] as [Float], shape: [1, 2]).to(.float16)
        let array = half.npyArray
        #expect(array.dtype == .float16 && array.shape == [1, 2])
        #expect(array.bytes == [0x66, 0x2E, 0xFF, 0x7B])
        let reread = Tensor(npy: array)
        #expect(reread.dtype == .float16 && reread.toArray(of: Float16.self) == half.toArray(of: Float16.self))
        let brain = Tensor([1.5, -0.1] as [Float]).to(.bfloat16)
        #expect(brain.npyArray.dtype == .float32 && brain.npyArray.floats == brain.scalars)
    }

    @Test func nonSupportedOpsStopWithAClearMessage() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor([1, 2] as [Float]).to(.float16).sum()
        }
        let output = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
        #expect(output.contains("sum needs float32, got float16"), "\(output)")
        let product = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let a = Tensor([1, 2] as [Float], shape: [1, 2]).to(.bfloat16)
            _ = a.matmul(a.transpose())
        }
        let message = product.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
        #expect(message.contains("matmul needs float32 tensors"), "\(message)")
        let pooled = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = maxPool2d(Tensor.zeros([1, 1, 4, 4], dtype: .float16), kernelSize: [2, 2])
        }
        let poolingMessage = pooled.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
        #expect(poolingMessage.contains("pooling needs a float32 tensor, got float16"), "\(poolingMessage)")
        let normalized = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = batchNorm(Tensor.zeros([2, 3], dtype: .bfloat16), weight: nil, bias: nil, runningMean: nil,
                          runningVar: nil, training: true)
        }
        let normMessage = normalized.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
        #expect(normMessage.contains("batchNorm needs a float32 tensor, got bfloat16"), "\(normMessage)")
    }
}
