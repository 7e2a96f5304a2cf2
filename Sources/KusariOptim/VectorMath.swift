#if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
import _Builtin_intrinsics.intel
#endif

// Helpers for the update kernels that need a square root. On Linux, `Float.squareRoot()`
// compiles to `sqrtss` plus a call to `sqrtf` (for errno), which stops LLVM from vectorising a
// loop; these kernels therefore process four elements at a time with explicit SIMD, using the
// `sqrtps` instruction on x86-64. `sqrtps` and `sqrtss` are both correctly rounded, so the
// vector body and the scalar tail give bit-identical results.

/// The correctly rounded square root of each lane.
@inline(__always)
func squareRoot(_ x: SIMD4<Float>) -> SIMD4<Float> {
    #if arch(x86_64) && canImport(_Builtin_intrinsics.intel)
    return _mm_sqrt_ps(x)
    #else
    return x.squareRoot()
    #endif
}

extension UnsafePointer where Pointee == Float {
    /// The four elements starting at `index` (no alignment needed).
    @inline(__always)
    func load4(_ index: Int) -> SIMD4<Float> {
        UnsafeRawPointer(self + index).loadUnaligned(as: SIMD4<Float>.self)
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// The four elements starting at `index` (no alignment needed).
    @inline(__always)
    func load4(_ index: Int) -> SIMD4<Float> {
        UnsafeRawPointer(self + index).loadUnaligned(as: SIMD4<Float>.self)
    }

    /// Writes four elements starting at `index` (no alignment needed).
    @inline(__always)
    func store4(_ value: SIMD4<Float>, _ index: Int) {
        UnsafeMutableRawPointer(self + index).storeBytes(of: value, as: SIMD4<Float>.self)
    }
}

/// Calls `vector(i)` for `i = range.lowerBound, +4, …` while four elements remain, then
/// `scalar(i)` for the remaining indices.
@inline(__always)
func forEachLane(in range: Range<Int>, vector: (Int) -> Void, scalar: (Int) -> Void) {
    var i = range.lowerBound
    let end = range.upperBound
    while end - i >= 4 {
        vector(i)
        i += 4
    }
    while i < end {
        scalar(i)
        i += 1
    }
}
