import Foundation
import Testing
@testable import Kusari

/// The normal kernel's computation for one pair of Philox words, in Swift: logarithm, sine and
/// cosine in double precision rounded to float, everything else as in `Tensor.normal`.
func normalPairReference(_ w0: UInt32, _ w1: UInt32, mean: Float, std: Float) -> (Float, Float) {
    let u1 = Float((w0 >> 8) + 1) * 0x1p-24, u2 = Float(w1 >> 8) * 0x1p-24
    let radius = (-2 * Float(Foundation.log(Double(u1)))).squareRoot()
    let angle = 2 * Float.pi * u2
    let scaled = std * radius
    return (mean + scaled * Float(Foundation.cos(Double(angle))), mean + scaled * Float(Foundation.sin(Double(angle))))
}

/// `count` normals from `seed` at block `offset`, as the GPU kernel computes them.
func normalReference(count: Int, seed: UInt64, offset: UInt64, mean: Float, std: Float) -> [Float] {
    var values: [Float] = []
    values.reserveCapacity(count + 3)
    for block in 0..<((count + 3) / 4) {
        let bits = Philox.block(seed: seed, index: offset &+ UInt64(block))
        let (a, b) = normalPairReference(bits[0], bits[1], mean: mean, std: std)
        let (c, d) = normalPairReference(bits[2], bits[3], mean: mean, std: std)
        values += [a, b, c, d]
    }
    return Array(values.prefix(count))
}

/// How far `exact` lies from the nearest point where rounding to float changes, in units of
/// its own double-precision ulp.
func floatRoundingMargin(_ exact: Double) -> Double {
    let rounded = Float(exact)
    let below = (Double(rounded) + Double(rounded.nextDown)) / 2
    let above = (Double(rounded) + Double(rounded.nextUp)) / 2
    return min(Swift.abs(exact - below), Swift.abs(above - exact)) / exact.ulp
}

struct RandomMappingTests {
    /// The GPU normal kernel rounds double-precision `log`, `sin` and `cos` to float. For that to
    /// give the same floats on every GPU and CPU, each double result must lie far from a float
    /// rounding boundary compared with the libraries' errors (CUDA documents at most 1 ulp for
    /// `log` and 2 ulp for `sin`/`cos`, glibc under 1 ulp). There are only 2²⁴ possible inputs
    /// of each, so check them all.
    @Test func doublePrecisionTranscendentalsRoundTheSameEverywhere() {
        var smallest = (log: Double.infinity, cos: Double.infinity, sin: Double.infinity)
        let twoPi = 2 * Float.pi
        for k in 0..<(1 << 24) {
            let u1 = Float(k + 1) * 0x1p-24
            if k + 1 < 1 << 24 { smallest.log = min(smallest.log, floatRoundingMargin(Foundation.log(Double(u1)))) }
            let angle = Double(twoPi * (Float(k) * 0x1p-24))
            if k > 0 {
                smallest.cos = min(smallest.cos, floatRoundingMargin(Foundation.cos(angle)))
                smallest.sin = min(smallest.sin, floatRoundingMargin(Foundation.sin(angle)))
            }
        }
        print("smallest float-rounding margins (double ulps): log \(smallest.log), cos \(smallest.cos), sin \(smallest.sin)")
        #expect(smallest.log >= 4 && smallest.cos >= 4 && smallest.sin >= 4)
    }

    /// The GPU's normals differ from the CPU's `Tensor.normal` (which uses glibc's float
    /// `logf`/`sinf`/`cosf`, not correctly rounded) by a few float ulps at most.
    @Test func normalReferenceStaysWithinUlpsOfTheCPUStream() {
        let generator = Generator(seed: 2024)
        generator.state = (2024, 12_345)
        let cpu = Tensor.normal([40_001], mean: 0.5, std: 2, generator: generator).scalars
        let reference = normalReference(count: 40_001, seed: 2024, offset: 12_345, mean: 0.5, std: 2)
        let differing = zip(cpu, reference).filter { $0 != $1 }.count
        let worst = zip(cpu, reference).map { Swift.abs($0 - $1) }.max() ?? 0
        print("normal: \(differing) of \(cpu.count) values differ from the CPU stream, by at most \(worst)")
        #expect(worst <= 4e-6)
        #expect(differing < cpu.count / 20)
    }
}
