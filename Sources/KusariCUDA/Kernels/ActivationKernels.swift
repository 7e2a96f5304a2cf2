extension KernelSource {
    /// Activations with oneDNN's eltwise formulas (forward from `x`, backward from the forward
    /// input `x` and the output gradient `gy`); relu itself is `kusari_relu_f32` /
    /// `kusari_relu_backward_f32` in ``elementwise``:
    ///
    /// - `kusari_leaky_relu_f32(x, y, n, slope)`: `x > 0 ? x : x · slope` (NaN stays NaN);
    ///   `kusari_leaky_relu_backward_f32(gy, x, gx, n, slope)`: `x > 0 ? gy : gy · slope`;
    /// - `kusari_elu_f32(x, y, n, alpha)`: `x > 0 ? x : alpha · expm1(x)`;
    ///   `kusari_elu_backward_f32(gy, x, gx, n, alpha)`: `gy · (x > 0 ? 1 : alpha · exp(x))`;
    /// - `kusari_gelu_f32(x, y, n)`: `0.5 · x · (1 + erf(x / √2))`;
    ///   `kusari_gelu_backward_f32(gy, x, gx, n)`: with `v = x / √2`,
    ///   `gy · 0.5 · (1 + erf(v) + v · (2 / √π) · exp(-v²))`.
    public static let activation = KernelSource(
        name: "activation",
        body: #"""
            /* oneDNN's constants: sqrt(2) / 2 and 2 / sqrt(pi) rounded to float. */
            #define KUSARI_SQRT_HALF 0.707106769084930419921875f
            #define KUSARI_TWO_OVER_SQRT_PI 1.12837922573089599609375f

            #define ACTIVATION_KERNELS(name, forward, backward) \
                extern "C" __global__ void kusari_##name##_f32(const float* x, float* y, i64 n, float alpha) { \
                    KUSARI_FOR_EACH(i, n) { const float v = x[i]; y[i] = (forward); } \
                } \
                extern "C" __global__ void kusari_##name##_backward_f32(const float* gy, const float* x, float* gx, \
                                                                        i64 n, float alpha) { \
                    KUSARI_FOR_EACH(i, n) { const float g = gy[i], v = x[i]; gx[i] = (backward); } \
                }

            ACTIVATION_KERNELS(leaky_relu, v > 0.0f ? v : v * alpha, v > 0.0f ? g : g * alpha)
            ACTIVATION_KERNELS(elu, v > 0.0f ? v : alpha * expm1f(v), g * (v > 0.0f ? 1.0f : alpha * expf(v)))

            extern "C" __global__ void kusari_gelu_f32(const float* x, float* y, i64 n) {
                KUSARI_FOR_EACH(i, n) {
                    const float v = x[i];
                    y[i] = 0.5f * v * (1.0f + erff(v * KUSARI_SQRT_HALF));
                }
            }

            extern "C" __global__ void kusari_gelu_backward_f32(const float* gy, const float* x, float* gx, i64 n) {
                KUSARI_FOR_EACH(i, n) {
                    const float v = x[i] * KUSARI_SQRT_HALF;
                    gx[i] = gy[i] * 0.5f * (1.0f + erff(v) + v * KUSARI_TWO_OVER_SQRT_PI * expf(-v * v));
                }
            }

            """#,
        functions: ["leaky_relu", "elu", "gelu"].flatMap { ["kusari_\($0)_f32", "kusari_\($0)_backward_f32"] })
}
