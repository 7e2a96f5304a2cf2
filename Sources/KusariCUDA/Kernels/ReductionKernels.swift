extension KernelSource {
    /// Sum, mean and max along one axis of a dense float32 tensor viewed as
    /// `[outer, length, inner]`, giving `[outer, inner]`:
    ///
    /// - `kusari_sum_rows_f32(x, y, rows, length, scale)` and
    ///   `kusari_max_rows_f32(x, y, index, rows, length)` reduce contiguous rows (`inner == 1`),
    ///   one block of up to 1024 threads (a multiple of 32) per row;
    /// - `kusari_sum_axis_f32(x, y, outer, length, inner, scale)` and
    ///   `kusari_max_axis_f32(x, y, index, outer, length, inner)` use one thread per output and
    ///   add in the CPU's order, so they match it exactly.
    ///
    /// Sums are multiplied by `scale` (`1 / length` gives the mean). Max propagates NaN like the
    /// CPU; `index` (may be null) receives the position of the first maximum (or first NaN) as
    /// `long long`, as ``Kusari/Tensor/argmax(axis:keepDims:)`` does.
    public static let reduction = KernelSource(
        name: "reduction",
        body: #"""
            __device__ __forceinline__ float warp_sum(float v) {
            #pragma unroll
                for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
                return v;
            }

            /* Whether (w, j) beats (v, i) as a maximum: NaN first, then larger, then earlier. */
            __device__ __forceinline__ bool max_beats(float w, i64 j, float v, i64 i) {
                const bool wn = w != w, vn = v != v;
                if (wn || vn) return wn && (!vn || j < i);
                if (w != v) return w > v;
                return j < i;
            }

            __device__ __forceinline__ void warp_max(float& v, i64& i) {
            #pragma unroll
                for (int o = 16; o > 0; o >>= 1) {
                    const float w = __shfl_down_sync(0xffffffffu, v, o);
                    const i64 j = __shfl_down_sync(0xffffffffu, i, o);
                    if (max_beats(w, j, v, i)) { v = w; i = j; }
                }
            }

            extern "C" __global__ void kusari_sum_rows_f32(const float* x, float* y, i64 rows, i64 length, float scale) {
                __shared__ float partial[32];
                const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
                for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
                    const float* row = x + r * length;
                    float s = 0.0f;
                    for (i64 k = threadIdx.x; k < length; k += blockDim.x) s += row[k];
                    s = warp_sum(s);
                    if (lane == 0) partial[warp] = s;
                    __syncthreads();
                    if (warp == 0) {
                        s = warp_sum(lane < warps ? partial[lane] : 0.0f);
                        if (lane == 0) y[r] = s * scale;
                    }
                    __syncthreads();
                }
            }

            extern "C" __global__ void kusari_max_rows_f32(const float* x, float* y, i64* index, i64 rows, i64 length) {
                __shared__ float partial_value[32];
                __shared__ i64 partial_index[32];
                const i64 none = 0x7fffffffffffffffLL;
                const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
                for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
                    const float* row = x + r * length;
                    float best = -kusari_infinity();
                    i64 at = none;
                    for (i64 k = threadIdx.x; k < length; k += blockDim.x) {
                        if (max_beats(row[k], k, best, at)) { best = row[k]; at = k; }
                    }
                    warp_max(best, at);
                    if (lane == 0) { partial_value[warp] = best; partial_index[warp] = at; }
                    __syncthreads();
                    if (warp == 0) {
                        best = lane < warps ? partial_value[lane] : -kusari_infinity();
                        at = lane < warps ? partial_index[lane] : none;
                        warp_max(best, at);
                        if (lane == 0) {
                            y[r] = best;
                            if (index) index[r] = at == none ? 0 : at;
                        }
                    }
                    __syncthreads();
                }
            }

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

            extern "C" __global__ void kusari_max_axis_f32(const float* x, float* y, i64* index, i64 outer, i64 length,
                                                           i64 inner) {
                KUSARI_FOR_EACH(p, outer * inner) {
                    const i64 o = p / inner, i = p - o * inner;
                    const float* base = x + o * length * inner + i;
                    float best = length > 0 ? base[0] : -kusari_infinity();
                    i64 at = 0;
                    for (i64 k = 1; k < length && best == best; ++k) {
                        const float v = base[k * inner];
                        if (v != v || v > best) { best = v; at = k; }
                    }
                    y[p] = best;
                    if (index) index[p] = at;
                }
            }

            """#,
        functions: ["kusari_sum_rows_f32", "kusari_max_rows_f32", "kusari_sum_axis_f32", "kusari_max_axis_f32"])
}
