import Foundation
import Testing
@testable import Kusari
import KusariTestSupport

/// Deterministic pseudo-random values in `[low, high)` for test inputs (independent of
/// ``Generator``, so a broken RNG cannot hide a broken op).
func testValues(_ count: Int, seed: UInt64, low: Float = -1, high: Float = 1) -> [Float] {
    parityValues(count, seed: seed, low: low, high: high)
}

/// `count` distinct values `0.1 · k − 0.05 · count` in a seeded random order: at least 0.1 apart,
/// for ops with kinks (max, min, sorting) whose finite differences must not cross a tie.
func distinctTestValues(_ count: Int, seed: UInt64) -> [Float] {
    let keys = testValues(count, seed: seed)
    return (0..<count).sorted { keys[$0] < keys[$1] }.map { Float($0) * 0.1 - 0.05 * Float(count) }
}

/// A float32 leaf tensor of `shape` filled with ``testValues(_:seed:low:high:)``.
func testTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    Tensor(testValues(Shape.count(shape), seed: seed, low: low, high: high), shape: shape)
}

/// Expects `a` and `b` to have the same length and `|a[i] - b[i]| <= tolerance * max(1, |b[i]|)`
/// everywhere (absolute below magnitude 1, relative above).
func assertClose(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, "length \(a.count) vs \(b.count)", sourceLocation: sourceLocation)
    guard a.count == b.count else { return }
    let bad = zip(a, b).enumerated().filter { _, pair in
        !(Swift.abs(pair.0 - pair.1) <= tolerance * Swift.max(1, Swift.abs(pair.1)))
    }
    let examples = bad.prefix(4).map { "[\($0.offset)] \($0.element.0) vs \($0.element.1)" }.joined(separator: ", ")
    let mismatches = bad.count
    #expect(mismatches == 0, "\(mismatches) of \(a.count) values differ, first: \(examples)", sourceLocation: sourceLocation)
}

/// Expects `predicate` to hold for every element, reporting only how many fail and the first
/// offender (large arrays are not printed).
func expectAll<T>(_ values: [T], _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                  _ predicate: (T) -> Bool) {
    let failing = values.indices.filter { !predicate(values[$0]) }
    let count = failing.count
    let first = failing.first.map { "[\($0)] = \(values[$0])" } ?? "none"
    #expect(count == 0, "\(what): \(count) of \(values.count) elements fail, first \(first)", sourceLocation: sourceLocation)
}

/// Checks the gradients autodiff computes for `f` against central finite differences.
///
/// The objective is `Σ w ⊙ f(inputs)` with fixed pseudo-random weights `w` in `[0.5, 1.5)`
/// (so a wrong permutation of gradient entries does not cancel out). Each input element is
/// perturbed by `±eps` in place and the objective is accumulated in `Double`. An entry passes
/// when `|analytic − numeric| <= tolerance · max(|analytic|, |numeric|, 0.05)`. Inputs must be
/// contiguous float32 leaves; they are marked `requiresGrad` and their gradients are cleared
/// before and after.
func checkGradients(_ inputs: [Tensor], tolerance: Float = 2e-2, eps: Float = 1e-2,
                    sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) -> Tensor) {
    for input in inputs {
        precondition(input.dtype == .float32 && input.isContiguous && input.isLeaf, "checkGradients needs dense float leaves")
        input.requiresGrad = true
        input.zeroGrad()
    }
    let output = f(inputs)
    let weights = testValues(output.count, seed: UInt64(output.count) &* 7919, low: 0.5, high: 1.5)
    (output * Tensor(weights, shape: output.shape)).sum().backward()
    let analytic = inputs.map { $0.grad?.scalars ?? [Float](repeating: 0, count: $0.count) }
    inputs.forEach { $0.zeroGrad() }

    func objective() -> Double {
        let values = withNoGrad { f(inputs) }.scalars
        return zip(values, weights).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
    var failures: [String] = []
    var checked = 0
    for (k, input) in inputs.enumerated() {
        for i in 0..<input.count {
            let original = input.withUnsafeMutableFloats { $0[i] }
            input.withUnsafeMutableFloats { $0[i] = original + eps }
            let plus = objective()
            input.withUnsafeMutableFloats { $0[i] = original - eps }
            let minus = objective()
            input.withUnsafeMutableFloats { $0[i] = original }
            let numeric = Float((plus - minus) / (2 * Double(eps)))
            let exact = analytic[k][i]
            checked += 1
            if !(Swift.abs(exact - numeric) <= tolerance * Swift.max(Swift.abs(exact), Swift.abs(numeric), 0.05)) {
                failures.append("input \(k)[\(i)]: autodiff \(exact), finite difference \(numeric)")
            }
        }
    }
    #expect(checked > 0, "nothing to check", sourceLocation: sourceLocation)
    let mismatches = failures.count, examples = failures.prefix(6).joined(separator: "; ")
    #expect(mismatches == 0, "\(mismatches) of \(checked) gradient entries differ: \(examples)", sourceLocation: sourceLocation)
}
