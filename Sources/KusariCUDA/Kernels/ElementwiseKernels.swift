extension KernelSource {
    /// Unary math with the CPU backend's formulas.
    static let unaryOperations = ["relu", "exp", "log", "sqrt", "tanh", "sigmoid", "neg"]
    /// Binary arithmetic, contiguous and broadcasting.
    static let binaryOperations = ["add", "sub", "mul", "div"]
    /// Element widths of the strided copies.
    static let copyWidths = [8, 16, 32, 64]

    /// Elementwise float32 kernels over `n` elements:
    ///
    /// - `kusari_<op>_f32(x, y, n)` for relu, exp, log, sqrt, tanh, sigmoid and neg; relu
    ///   follows oneDNN (`x > 0 ? x : x * 0`, so NaN stays NaN), sigmoid the CPU's two-sided form;
    /// - `kusari_relu_backward_f32(gy, x, gx, n)`;
    /// - `kusari_{pow,add,mul}_scalar_f32(x, y, n, s)` and `kusari_fill_f32(y, n, value)`;
    /// - `kusari_<op>_f32(a, b, y, n)` for add, sub, mul, div on same-shape contiguous inputs,
    ///   and `kusari_<op>_broadcast_f32(a, b, y, n, layout)` with NumPy broadcasting through
    ///   the strides of `layout` (`y` contiguous);
    /// - `kusari_copy_strided_b{8,16,32,64}(src, dst, n, layout)`: any-dtype copy of elements
    ///   of that many bits, `layout.a` the source strides and `layout.b` the destination's.
    public static let elementwise = KernelSource(
        name: "elementwise",
        body: #"""
            __device__ __forceinline__ float kusari_sigmoid(float v) {
                if (v >= 0.0f) return 1.0f / (1.0f + expf(-v));
                const float e = expf(v);
                return e / (1.0f + e);
            }

            #define UNARY_KERNEL(name, expr) \
                extern "C" __global__ void kusari_##name##_f32(const float* x, float* y, i64 n) { \
                    KUSARI_FOR_EACH(i, n) { const float v = x[i]; y[i] = (expr); } \
                }

            UNARY_KERNEL(relu, v > 0.0f ? v : v * 0.0f)
            UNARY_KERNEL(exp, expf(v))
            UNARY_KERNEL(log, logf(v))
            UNARY_KERNEL(sqrt, __fsqrt_rn(v))
            UNARY_KERNEL(tanh, tanhf(v))
            UNARY_KERNEL(sigmoid, kusari_sigmoid(v))
            UNARY_KERNEL(neg, -v)

            extern "C" __global__ void kusari_relu_backward_f32(const float* gy, const float* x, float* gx, i64 n) {
                KUSARI_FOR_EACH(i, n) { const float g = gy[i]; gx[i] = x[i] > 0.0f ? g : g * 0.0f; }
            }

            #define SCALAR_KERNEL(name, expr) \
                extern "C" __global__ void kusari_##name##_scalar_f32(const float* x, float* y, i64 n, float s) { \
                    KUSARI_FOR_EACH(i, n) { const float v = x[i]; y[i] = (expr); } \
                }

            SCALAR_KERNEL(pow, powf(v, s))
            SCALAR_KERNEL(add, v + s)
            SCALAR_KERNEL(mul, v * s)

            extern "C" __global__ void kusari_fill_f32(float* y, i64 n, float value) {
                KUSARI_FOR_EACH(i, n) { y[i] = value; }
            }

            #define BINARY_KERNEL(name, op) \
                extern "C" __global__ void kusari_##name##_f32(const float* a, const float* b, float* y, i64 n) { \
                    KUSARI_FOR_EACH(i, n) { y[i] = a[i] op b[i]; } \
                } \
                extern "C" __global__ void kusari_##name##_broadcast_f32(const float* a, const float* b, float* y, \
                                                                         i64 n, const Layout6 layout) { \
                    KUSARI_FOR_EACH(i, n) { \
                        i64 oa, ob; \
                        layout_offsets(layout, i, oa, ob); \
                        y[i] = a[oa] op b[ob]; \
                    } \
                }

            BINARY_KERNEL(add, +)
            BINARY_KERNEL(sub, -)
            BINARY_KERNEL(mul, *)
            BINARY_KERNEL(div, /)

            #define COPY_KERNEL(bits, T) \
                extern "C" __global__ void kusari_copy_strided_b##bits(const T* src, T* dst, i64 n, const Layout6 layout) { \
                    KUSARI_FOR_EACH(i, n) { \
                        i64 from, to; \
                        layout_offsets(layout, i, from, to); \
                        dst[to] = src[from]; \
                    } \
                }

            COPY_KERNEL(8, u8)
            COPY_KERNEL(16, u16)
            COPY_KERNEL(32, u32)
            COPY_KERNEL(64, u64)

            """#,
        functions: unaryOperations.map { "kusari_\($0)_f32" } + ["kusari_relu_backward_f32"]
            + ["pow", "add", "mul"].map { "kusari_\($0)_scalar_f32" } + ["kusari_fill_f32"]
            + binaryOperations.flatMap { ["kusari_\($0)_f32", "kusari_\($0)_broadcast_f32"] }
            + copyWidths.map { "kusari_copy_strided_b\($0)" })
}
