extension KernelSource {
    /// Unary math with the CPU backend's formulas.
    static let unaryOperations = ["relu", "exp", "log", "sqrt", "abs", "sign", "sin", "cos", "tanh", "sigmoid",
                                  "softplus"]
    /// Binary arithmetic (float32 results) and comparisons (`uint8` results), contiguous and
    /// broadcasting.
    static let binaryOperations = ["add", "sub", "mul", "div", "maximum", "minimum", "pow",
                                   "equal", "not_equal", "greater", "greater_equal", "less", "less_equal"]
    /// Element types of the fills (`u16`: float16 and bfloat16 bit patterns).
    static let fillTypes = ["f32", "i32", "i64", "u8", "u16"]
    /// Element widths of the strided copies.
    static let copyWidths = [8, 16, 32, 64]

    /// Elementwise kernels over `n` elements:
    ///
    /// - `kusari_<op>_f32(x, y, n)` for relu, exp, log, sqrt, abs, sign, sin, cos, tanh,
    ///   sigmoid and softplus; relu follows oneDNN (`x > 0 ? x : x * 0`, so NaN stays NaN),
    ///   sign gives 0 for 0 and NaN, sigmoid the CPU's two-sided form and softplus its
    ///   `max(x, 0) + log1p(exp(-|x|))`;
    /// - `kusari_relu_backward_f32(gy, x, gx, n)`;
    /// - `kusari_mul_scalar_f32(x, y, n, s)` (batch normalisation's scaling);
    /// - `kusari_fill_{f32,i32,i64,u8,u16}(y, n, value)`, `value` a `float`, `int`, `long long`,
    ///   `int` (its low byte) and `int` (its low 16 bits: a float16 or bfloat16 bit pattern)
    ///   respectively;
    /// - `kusari_<op>_f32(a, b, y, n)` on same-shape contiguous inputs, and
    ///   `kusari_<op>_broadcast_f32(a, b, y, n, layout)` with NumPy broadcasting through the
    ///   strides of `layout` (`y` contiguous), for add, sub, mul, div, maximum (`a >= b ? a : b`),
    ///   minimum (`a <= b ? a : b`) and pow, which write float32, and for the comparisons
    ///   equal, not_equal, greater, greater_equal, less and less_equal, which write `uint8` 0/1;
    /// - `kusari_store_bytes(dst, low, high, n)`: writes the first `n` (at most 16) bytes of the
    ///   little-endian words `low`, `high` to `dst` (a small host→device copy carried in the
    ///   launch's arguments, so the host need not wait for it);
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
            UNARY_KERNEL(abs, fabsf(v))
            UNARY_KERNEL(sign, v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f))
            UNARY_KERNEL(sin, sinf(v))
            UNARY_KERNEL(cos, cosf(v))
            UNARY_KERNEL(tanh, tanhf(v))
            UNARY_KERNEL(sigmoid, kusari_sigmoid(v))
            UNARY_KERNEL(softplus, fmaxf(v, 0.0f) + log1pf(expf(-fabsf(v))))

            extern "C" __global__ void kusari_relu_backward_f32(const float* gy, const float* x, float* gx, i64 n) {
                KUSARI_FOR_EACH(i, n) { const float g = gy[i]; gx[i] = x[i] > 0.0f ? g : g * 0.0f; }
            }

            extern "C" __global__ void kusari_mul_scalar_f32(const float* x, float* y, i64 n, float s) {
                KUSARI_FOR_EACH(i, n) { y[i] = x[i] * s; }
            }

            #define FILL_KERNEL(suffix, T, V) \
                extern "C" __global__ void kusari_fill_##suffix(T* y, i64 n, V value) { \
                    KUSARI_FOR_EACH(i, n) { y[i] = (T)value; } \
                }

            FILL_KERNEL(f32, float, float)
            FILL_KERNEL(i32, int, int)
            FILL_KERNEL(i64, i64, i64)
            FILL_KERNEL(u8, u8, int)

            extern "C" __global__ void kusari_store_bytes(u8* dst, u64 low, u64 high, int n) {
                if (blockIdx.x == 0 && threadIdx.x == 0) {
                    for (int i = 0; i < n && i < 16; ++i) {
                        dst[i] = (u8)((i < 8 ? low >> (8 * i) : high >> (8 * (i - 8))) & 0xffu);
                    }
                }
            }
            FILL_KERNEL(u16, u16, int)

            #define BINARY_KERNEL(name, R, expr) \
                extern "C" __global__ void kusari_##name##_f32(const float* a, const float* b, R* y, i64 n) { \
                    KUSARI_FOR_EACH(i, n) { const float p = a[i], q = b[i]; y[i] = (expr); } \
                } \
                extern "C" __global__ void kusari_##name##_broadcast_f32(const float* a, const float* b, R* y, \
                                                                         i64 n, const Layout6 layout) { \
                    KUSARI_FOR_EACH(i, n) { \
                        i64 oa, ob; \
                        layout_offsets(layout, i, oa, ob); \
                        const float p = a[oa], q = b[ob]; \
                        y[i] = (expr); \
                    } \
                }

            BINARY_KERNEL(add, float, p + q)
            BINARY_KERNEL(sub, float, p - q)
            BINARY_KERNEL(mul, float, p * q)
            BINARY_KERNEL(div, float, p / q)
            BINARY_KERNEL(maximum, float, p >= q ? p : q)
            BINARY_KERNEL(minimum, float, p <= q ? p : q)
            BINARY_KERNEL(pow, float, powf(p, q))
            BINARY_KERNEL(equal, u8, p == q ? 1 : 0)
            BINARY_KERNEL(not_equal, u8, p != q ? 1 : 0)
            BINARY_KERNEL(greater, u8, p > q ? 1 : 0)
            BINARY_KERNEL(greater_equal, u8, p >= q ? 1 : 0)
            BINARY_KERNEL(less, u8, p < q ? 1 : 0)
            BINARY_KERNEL(less_equal, u8, p <= q ? 1 : 0)

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
            + ["kusari_mul_scalar_f32"] + fillTypes.map { "kusari_fill_\($0)" }
            + ["kusari_store_bytes"] + binaryOperations.flatMap { ["kusari_\($0)_f32", "kusari_\($0)_broadcast_f32"] }
            + copyWidths.map { "kusari_copy_strided_b\($0)" })
}
