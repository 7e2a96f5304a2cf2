extension KernelSource {
    /// Suffixes of the tensor dtypes (float32, int32, int64, uint8) in the conversion kernels' names.
    static let dtypeSuffixes = ["f32", "i32", "i64", "u8"]

    /// Conversions between the tensor dtypes, as `Tensor.to(_:)` does them on the CPU, and
    /// float32 ↔ bfloat16 / float16 conversions for mixed precision:
    ///
    /// - `kusari_convert_<from>_<to>(x, y, n)` for every ordered pair of distinct dtypes among
    ///   `f32`, `i32`, `i64`, `u8`: floats round toward zero when they become integers (NaN
    ///   gives 0; values outside the target range, which stop the CPU, saturate), `int64`
    ///   becomes float32 through double as on the CPU, and integers narrow by keeping their
    ///   low bits (the CPU stops on values that do not fit);
    ///
    /// and, with integer bit operations on `unsigned short` (no `cuda_fp16.h`/`cuda_bf16.h`):
    ///
    /// - `kusari_f32_to_bf16(x, y, n)`: round to nearest even; NaNs stay (quiet) NaNs;
    /// - `kusari_bf16_to_f32(x, y, n)`: exact;
    /// - `kusari_f32_to_f16(x, y, n)`: round to nearest even, including float16 subnormals;
    ///   values from 65520 up become infinity; NaNs stay (quiet) NaNs;
    /// - `kusari_f16_to_f32(x, y, n)`: exact, subnormals included;
    /// - `kusari_f16_to_bf16(x, y, n)` and `kusari_bf16_to_f16(x, y, n)`: through float32 (exact),
    ///   so rounded once as above;
    ///
    /// and the per-channel bias of reduced-precision convolutions, on NCHW data viewed as
    /// `[batch, channels, inner]` (`inner` = H·W), for `<t>` = `f16` and `bf16`:
    ///
    /// - `kusari_add_channel_bias_<t>(y, bias, n, channels, inner)`: `y += bias[c]` in place,
    ///   added in float32 and rounded once;
    /// - `kusari_channel_sums_<t>(dy, sums, batch, channels, inner)`: `sums[c]` = the float32
    ///   sum of channel `c` over `batch` and `inner`, rounded once; one block (a multiple of 32
    ///   threads) per channel.
    public static let conversion = KernelSource(
        name: "conversion",
        body: #"""
            __device__ __forceinline__ u16 float_to_bfloat16(float f) {
                const u32 bits = __float_as_uint(f);
                if ((bits & 0x7fffffffu) > 0x7f800000u) return (u16)((bits >> 16) | 0x0040u);
                const u32 rounding = 0x7fffu + ((bits >> 16) & 1u);
                return (u16)((bits + rounding) >> 16);
            }

            __device__ __forceinline__ u16 float_to_half(float f) {
                const u32 bits = __float_as_uint(f);
                const u32 sign = (bits >> 16) & 0x8000u;
                const u32 magnitude = bits & 0x7fffffffu;
                if (magnitude > 0x7f800000u) return (u16)(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
                if (magnitude >= 0x477ff000u) return (u16)(sign | 0x7c00u);            /* >= 65520: infinity */
                if (magnitude >= 0x38800000u) {                                       /* normal float16 */
                    const u32 rebased = magnitude - 0x38000000u + 0x0fffu + ((magnitude >> 13) & 1u);
                    return (u16)(sign | (rebased >> 13));
                }
                if (magnitude < 0x33000000u) return (u16)sign;                         /* below 2^-25: zero */
                /* Subnormal float16: units of 2^-24, rounded to nearest even. */
                const u32 exponent = magnitude >> 23;
                const u32 mantissa = (magnitude & 0x7fffffu) | 0x800000u;
                const u32 shift = 126u - exponent;
                u32 units = mantissa >> shift;
                const u32 remainder = mantissa & ((1u << shift) - 1u), half = 1u << (shift - 1u);
                if (remainder > half || (remainder == half && (units & 1u))) units += 1u;
                return (u16)(sign | units);
            }

            __device__ __forceinline__ float half_to_float(u16 h) {
                const u32 sign = ((u32)h & 0x8000u) << 16;
                const u32 exponent = ((u32)h >> 10) & 0x1fu, mantissa = (u32)h & 0x3ffu;
                if (exponent == 0x1fu) return __uint_as_float(sign | 0x7f800000u | (mantissa << 13));
                if (exponent == 0u) {
                    const float magnitude = __fmul_rn(__uint2float_rn(mantissa), __int_as_float(0x33800000));
                    return __uint_as_float(sign | __float_as_uint(magnitude));
                }
                return __uint_as_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
            }

            #define CONVERT_KERNEL(from, S, to, D, expr) \
                extern "C" __global__ void kusari_convert_##from##_##to(const S* x, D* y, i64 n) { \
                    KUSARI_FOR_EACH(i, n) { const S v = x[i]; y[i] = (expr); } \
                }

            /* Float to uint8: toward zero, NaN to 0, clamped to 0...255. */
            __device__ __forceinline__ u8 float_to_u8(float v) {
                return v != v ? (u8)0 : (u8)fminf(fmaxf(truncf(v), 0.0f), 255.0f);
            }

            CONVERT_KERNEL(f32, float, i32, int, __float2int_rz(v))
            CONVERT_KERNEL(f32, float, i64, i64, __float2ll_rz(v))
            CONVERT_KERNEL(f32, float, u8, u8, float_to_u8(v))
            CONVERT_KERNEL(i32, int, f32, float, __int2float_rn(v))
            CONVERT_KERNEL(i32, int, i64, i64, (i64)v)
            CONVERT_KERNEL(i32, int, u8, u8, (u8)v)
            CONVERT_KERNEL(i64, i64, f32, float, __double2float_rn(__ll2double_rn(v)))
            CONVERT_KERNEL(i64, i64, i32, int, (int)v)
            CONVERT_KERNEL(i64, i64, u8, u8, (u8)v)
            CONVERT_KERNEL(u8, u8, f32, float, (float)v)
            CONVERT_KERNEL(u8, u8, i32, int, (int)v)
            CONVERT_KERNEL(u8, u8, i64, i64, (i64)v)

            extern "C" __global__ void kusari_f32_to_bf16(const float* x, u16* y, i64 n) {
                KUSARI_FOR_EACH(i, n) { y[i] = float_to_bfloat16(x[i]); }
            }

            extern "C" __global__ void kusari_bf16_to_f32(const u16* x, float* y, i64 n) {
                KUSARI_FOR_EACH(i, n) { y[i] = __uint_as_float((u32)x[i] << 16); }
            }

            extern "C" __global__ void kusari_f32_to_f16(const float* x, u16* y, i64 n) {
                KUSARI_FOR_EACH(i, n) { y[i] = float_to_half(x[i]); }
            }

            extern "C" __global__ void kusari_f16_to_f32(const u16* x, float* y, i64 n) {
                KUSARI_FOR_EACH(i, n) { y[i] = half_to_float(x[i]); }
            }

            __device__ __forceinline__ float bfloat16_to_float(u16 h) { return __uint_as_float((u32)h << 16); }

            extern "C" __global__ void kusari_f16_to_bf16(const u16* x, u16* y, i64 n) {
                KUSARI_FOR_EACH(i, n) { y[i] = float_to_bfloat16(half_to_float(x[i])); }
            }

            extern "C" __global__ void kusari_bf16_to_f16(const u16* x, u16* y, i64 n) {
                KUSARI_FOR_EACH(i, n) { y[i] = float_to_half(bfloat16_to_float(x[i])); }
            }

            #define CHANNEL_BIAS_KERNELS(suffix, load, store) \
                extern "C" __global__ void kusari_add_channel_bias_##suffix(u16* y, const u16* bias, i64 n, \
                                                                           i64 channels, i64 inner) { \
                    KUSARI_FOR_EACH(i, n) { y[i] = store(load(y[i]) + load(bias[(i / inner) % channels])); } \
                } \
                extern "C" __global__ void kusari_channel_sums_##suffix(const u16* dy, u16* sums, i64 batch, \
                                                                       i64 channels, i64 inner) { \
                    __shared__ float shared[33]; \
                    const i64 length = batch * inner; \
                    for (i64 c = blockIdx.x; c < channels; c += gridDim.x) { \
                        float total = 0.0f; \
                        for (i64 k = threadIdx.x; k < length; k += blockDim.x) { \
                            const i64 b = k / inner; \
                            total += load(dy[(b * channels + c) * inner + (k - b * inner)]); \
                        } \
                        total = block_reduce(total, false, shared); \
                        if (threadIdx.x == 0) sums[c] = store(total); \
                    } \
                }

            CHANNEL_BIAS_KERNELS(f16, half_to_float, float_to_half)
            CHANNEL_BIAS_KERNELS(bf16, bfloat16_to_float, float_to_bfloat16)

            """#,
        functions: dtypeSuffixes.flatMap { from in
            dtypeSuffixes.filter { $0 != from }.map { "kusari_convert_\(from)_\($0)" }
        } + ["kusari_f32_to_bf16", "kusari_bf16_to_f32", "kusari_f32_to_f16", "kusari_f16_to_f32",
             "kusari_f16_to_bf16", "kusari_bf16_to_f16"]
            + ["f16", "bf16"].flatMap { ["kusari_add_channel_bias_\($0)", "kusari_channel_sums_\($0)"] })
}
