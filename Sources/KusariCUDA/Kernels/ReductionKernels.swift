extension KernelSource {
    /// Sum, max and min along one axis of a dense float32 tensor viewed as
    /// `[outer, length, inner]`, giving `[outer, inner]`, with the CPU's order of additions:
    ///
    /// - `kusari_sum_rows_f32(x, y, rows, length, scale)` reduces contiguous rows (`inner == 1`)
    ///   as ``Kusari/Tensor/sum(axes:keepDims:)`` does on the CPU: each run of 1024 elements
    ///   (one per thread) is summed as four interleaved float partial sums (elements `4j + w`
    ///   into partial `w`, a tail past the last multiple of four into partial 0) combined as
    ///   `(s0 + s1) + (s2 + s3)`, and the runs' totals are added in double precision in order;
    ///   one block (a multiple of 32 threads, up to 1024) per row;
    /// - `kusari_max_rows_f32(x, y, index, rows, length)` and `kusari_min_rows_f32` reduce
    ///   contiguous rows with one block (a multiple of 32 threads, up to 1024) per row;
    /// - `kusari_sum_axis_f32(x, y, outer, length, inner, scale)`,
    ///   `kusari_max_axis_f32(x, y, index, outer, length, inner)` and `kusari_min_axis_f32` use
    ///   one thread per output and go through the axis in order (sums add in index order, as
    ///   the CPU does for `inner > 1`).
    ///
    /// Sums are multiplied by `scale` (`1 / length` gives the mean). Max and min propagate NaN:
    /// the first NaN is the extreme; `index` (may be null) receives the position of the first
    /// extreme as `long long`, as ``Kusari/Tensor/argmax(axis:keepDims:)`` and
    /// ``Kusari/Tensor/argmin(axis:keepDims:)`` do. An empty axis gives 0, -∞ or +∞ and index 0.
    public static let reduction = KernelSource(
        name: "reduction",
        body: #"""
            /* Whether (w, j) beats (v, i) as a maximum: NaN first, then larger, then earlier. */
            __device__ __forceinline__ bool max_beats(float w, i64 j, float v, i64 i) {
                const bool wn = w != w, vn = v != v;
                if (wn || vn) return wn && (!vn || j < i);
                if (w != v) return w > v;
                return j < i;
            }

            /* Whether (w, j) beats (v, i) as a minimum: NaN first, then smaller, then earlier. */
            __device__ __forceinline__ bool min_beats(float w, i64 j, float v, i64 i) {
                const bool wn = w != w, vn = v != v;
                if (wn || vn) return wn && (!vn || j < i);
                if (w != v) return w < v;
                return j < i;
            }

            /* The CPU's row sum: runs of 1024 in four float partial sums, run totals in double. */
            extern "C" __global__ void kusari_sum_rows_f32(const float* x, float* y, i64 rows, i64 length,
                                                           float scale) {
                __shared__ double partial[1024];
                const i64 runs = (length + 1023) / 1024;
                for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
                    const float* row = x + r * length;
                    double total = 0.0;
                    for (i64 first = 0; first < runs; first += blockDim.x) {
                        const i64 run = first + threadIdx.x;
                        if (run < runs) {
                            const i64 end = min(length, (run + 1) * 1024);
                            float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
                            i64 k = run * 1024;
                            for (; k + 4 <= end; k += 4) {
                                s0 += row[k]; s1 += row[k + 1]; s2 += row[k + 2]; s3 += row[k + 3];
                            }
                            for (; k < end; ++k) s0 += row[k];
                            partial[threadIdx.x] = (double)((s0 + s1) + (s2 + s3));
                        }
                        __syncthreads();
                        if (threadIdx.x == 0) {
                            const i64 count = min((i64)blockDim.x, runs - first);
                            for (i64 t = 0; t < count; ++t) total += partial[t];
                        }
                        __syncthreads();
                    }
                    if (threadIdx.x == 0) y[r] = (float)total * scale;
                }
            }

            #define EXTREME_KERNELS(name, beats, empty) \
                __device__ __forceinline__ void warp_##name(float& v, i64& i) { \
                    _Pragma("unroll") \
                    for (int o = 16; o > 0; o >>= 1) { \
                        const float w = __shfl_down_sync(0xffffffffu, v, o); \
                        const i64 j = __shfl_down_sync(0xffffffffu, i, o); \
                        if (beats(w, j, v, i)) { v = w; i = j; } \
                    } \
                } \
                extern "C" __global__ void kusari_##name##_rows_f32(const float* x, float* y, i64* index, i64 rows, \
                                                                     i64 length) { \
                    __shared__ float partial_value[32]; \
                    __shared__ i64 partial_index[32]; \
                    const i64 none = 0x7fffffffffffffffLL; \
                    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5; \
                    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) { \
                        const float* row = x + r * length; \
                        float best = (empty); \
                        i64 at = none; \
                        for (i64 k = threadIdx.x; k < length; k += blockDim.x) { \
                            if (beats(row[k], k, best, at)) { best = row[k]; at = k; } \
                        } \
                        warp_##name(best, at); \
                        if (lane == 0) { partial_value[warp] = best; partial_index[warp] = at; } \
                        __syncthreads(); \
                        if (warp == 0) { \
                            best = lane < warps ? partial_value[lane] : (empty); \
                            at = lane < warps ? partial_index[lane] : none; \
                            warp_##name(best, at); \
                            if (lane == 0) { \
                                y[r] = best; \
                                if (index) index[r] = at == none ? 0 : at; \
                            } \
                        } \
                        __syncthreads(); \
                    } \
                } \
                extern "C" __global__ void kusari_##name##_axis_f32(const float* x, float* y, i64* index, i64 outer, \
                                                                     i64 length, i64 inner) { \
                    KUSARI_FOR_EACH(p, outer * inner) { \
                        const i64 o = p / inner, i = p - o * inner; \
                        const float* base = x + o * length * inner + i; \
                        float best = length > 0 ? base[0] : (empty); \
                        i64 at = 0; \
                        for (i64 k = 1; k < length && best == best; ++k) { \
                            const float v = base[k * inner]; \
                            if (beats(v, k, best, at)) { best = v; at = k; } \
                        } \
                        y[p] = best; \
                        if (index) index[p] = at; \
                    } \
                }

            EXTREME_KERNELS(max, max_beats, -kusari_infinity())
            EXTREME_KERNELS(min, min_beats, kusari_infinity())

            extern "C" __global__ void kusari_sum_axis_f32(const float* x, float* y, i64 outer, i64 length, i64 inner,
                                                           float scale) {
                KUSARI_FOR_EACH(p, outer * inner) {
                    const i64 o = p / inner, i = p - o * inner;
                    const float* base = x + o * length * inner + i;
                    float s = length > 0 ? base[0] : 0.0f;
                    for (i64 k = 1; k < length; ++k) s += base[k * inner];
                    y[p] = s * scale;
                }
            }

            """#,
        functions: ["kusari_sum_rows_f32", "kusari_sum_axis_f32"]
            + ["max", "min"].flatMap { ["kusari_\($0)_rows_f32", "kusari_\($0)_axis_f32"] })
}
