extension KernelSource {
    /// Softmax and log-softmax along the middle axis of dense float32 data viewed as
    /// `[outer, length, inner]`, with their backward passes (`take_log` is 1 for log-softmax, else 0):
    ///
    /// - `kusari_softmax_rows_f32(x, y, rows, length, take_log)` (`inner == 1`, one block of a
    ///   multiple of 32 threads, up to 1024, per row) and
    ///   `kusari_softmax_axis_f32(x, y, outer, length, inner, take_log)` (one thread per
    ///   `(outer, inner)` column): with `m` the largest value and `s = Σ exp(x - m)`, softmax is
    ///   `exp(x - m) · (1 / s)` and log-softmax `x - m - log s`;
    /// - `kusari_softmax_backward_rows_f32(gy, y, gx, rows, length, take_log)` and
    ///   `kusari_softmax_backward_axis_f32(gy, y, gx, outer, length, inner, take_log)` from the
    ///   forward output `y`: `gx = y · (gy - Σ gy · y)` for softmax and
    ///   `gx = gy - exp(y) · Σ gy` for log-softmax.
    public static let softmax = KernelSource(
        name: "softmax",
        body: #"""
            extern "C" __global__ void kusari_softmax_rows_f32(const float* x, float* y, i64 rows, i64 length,
                                                               int take_log) {
                __shared__ float shared[33];
                for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
                    const float* in = x + r * length;
                    float* out = y + r * length;
                    float peak = -kusari_infinity();
                    for (i64 k = threadIdx.x; k < length; k += blockDim.x) peak = fmaxf(peak, in[k]);
                    peak = block_reduce(peak, true, shared);
                    float total = 0.0f;
                    for (i64 k = threadIdx.x; k < length; k += blockDim.x) total += expf(in[k] - peak);
                    total = block_reduce(total, false, shared);
                    if (take_log) {
                        const float log_total = logf(total);
                        for (i64 k = threadIdx.x; k < length; k += blockDim.x) out[k] = in[k] - peak - log_total;
                    } else {
                        const float inverse = 1.0f / total;
                        for (i64 k = threadIdx.x; k < length; k += blockDim.x) out[k] = expf(in[k] - peak) * inverse;
                    }
                }
            }

            extern "C" __global__ void kusari_softmax_axis_f32(const float* x, float* y, i64 outer, i64 length,
                                                               i64 inner, int take_log) {
                KUSARI_FOR_EACH(p, outer * inner) {
                    const i64 o = p / inner, i = p - o * inner;
                    const float* in = x + o * length * inner + i;
                    float* out = y + o * length * inner + i;
                    float peak = -kusari_infinity();
                    for (i64 k = 0; k < length; ++k) peak = fmaxf(peak, in[k * inner]);
                    float total = 0.0f;
                    for (i64 k = 0; k < length; ++k) total += expf(in[k * inner] - peak);
                    if (take_log) {
                        const float log_total = logf(total);
                        for (i64 k = 0; k < length; ++k) out[k * inner] = in[k * inner] - peak - log_total;
                    } else {
                        const float inverse = 1.0f / total;
                        for (i64 k = 0; k < length; ++k) out[k * inner] = expf(in[k * inner] - peak) * inverse;
                    }
                }
            }

            extern "C" __global__ void kusari_softmax_backward_rows_f32(const float* gy, const float* y, float* gx,
                                                                        i64 rows, i64 length, int take_log) {
                __shared__ float shared[33];
                for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
                    const float* g = gy + r * length;
                    const float* out = y + r * length;
                    float* result = gx + r * length;
                    float total = 0.0f;
                    for (i64 k = threadIdx.x; k < length; k += blockDim.x) total += take_log ? g[k] : g[k] * out[k];
                    total = block_reduce(total, false, shared);
                    for (i64 k = threadIdx.x; k < length; k += blockDim.x) {
                        result[k] = take_log ? g[k] - expf(out[k]) * total : out[k] * (g[k] - total);
                    }
                }
            }

            extern "C" __global__ void kusari_softmax_backward_axis_f32(const float* gy, const float* y, float* gx,
                                                                        i64 outer, i64 length, i64 inner,
                                                                        int take_log) {
                KUSARI_FOR_EACH(p, outer * inner) {
                    const i64 o = p / inner, i = p - o * inner, base = o * length * inner + i;
                    float total = 0.0f;
                    for (i64 k = 0; k < length; ++k) {
                        const i64 at = base + k * inner;
                        total += take_log ? gy[at] : gy[at] * y[at];
                    }
                    for (i64 k = 0; k < length; ++k) {
                        const i64 at = base + k * inner;
                        gx[at] = take_log ? gy[at] - expf(y[at]) * total : y[at] * (gy[at] - total);
                    }
                }
            }

            """#,
        functions: ["kusari_softmax_rows_f32", "kusari_softmax_axis_f32", "kusari_softmax_backward_rows_f32",
                    "kusari_softmax_backward_axis_f32"])
}
