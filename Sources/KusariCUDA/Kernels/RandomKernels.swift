extension KernelSource {
    /// Philox4x32-10 random numbers in the layout of the CPU ``Kusari/Generator``.
    ///
    /// A draw of `n` values at generator state `(seed, offset)` uses Philox blocks
    /// `offset ..< offset + blocks`: block `b` is the Philox function of counter
    /// `(offset + b).lo, (offset + b).hi, 0, 0` under key `(seed.lo, seed.hi)`, and one thread
    /// computes one block. The host reserves the blocks from the generator (advancing its
    /// offset) exactly as the CPU draw would, and passes `seed` and the first block's `offset`.
    ///
    /// - `kusari_philox_uniform_f32(y, n, seed, offset, low, span, top)`: four values per block,
    ///   `min(low + span * u, top)` with `u` the top 24 bits of a word times 2⁻²⁴, `span =
    ///   high - low` and `top` the largest float below `high` (as ``Kusari/Tensor/uniform(_:low:high:generator:)``).
    /// - `kusari_philox_bernoulli_f32(y, n, seed, offset, probability, value)`: `u < probability ?
    ///   value : 0`.
    /// - `kusari_philox_randint_{i32,i64}(y, n, seed, offset, low, range)`: two values per block
    ///   from 64-bit words, `low + ⌊word · range / 2⁶⁴⌋`.
    /// - `kusari_philox_normal_f32(y, n, seed, offset, mean, std)`: Box–Muller on word pairs
    ///   (0, 1) → elements `4b`, `4b + 1` and (2, 3) → `4b + 2`, `4b + 3`, with `u1` in (0, 1]
    ///   and `u2` in [0, 1) from 24 bits. The logarithm, sine and cosine are evaluated in double
    ///   precision and rounded to float, which gives the correctly rounded float result for
    ///   every one of the 2²⁴ possible inputs (checked on the CPU by the tests), so the values
    ///   do not depend on a math library's float approximations.
    ///
    /// Every product and sum is written with explicit round-to-nearest intrinsics so the
    /// compiler cannot fuse them: the results are bit-for-bit those of the CPU formulas.
    public static let random = KernelSource(
        name: "random",
        body: #"""
            struct Bits4 { u32 w[4]; };

            __device__ __forceinline__ Bits4 philox_block(u64 counter, u64 seed) {
                u32 c0 = (u32)counter, c1 = (u32)(counter >> 32), c2 = 0u, c3 = 0u;
                u32 k0 = (u32)seed, k1 = (u32)(seed >> 32);
            #pragma unroll
                for (int round = 0; round < 10; ++round) {
                    if (round > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
                    const u32 hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
                    const u32 hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
                    const u32 n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
                    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
                }
                Bits4 r;
                r.w[0] = c0; r.w[1] = c1; r.w[2] = c2; r.w[3] = c3;
                return r;
            }

            /* Top 24 bits onto [0, 1) and (0, 1]: exact floats (0x33800000 is 2^-24). */
            __device__ __forceinline__ float unit_float(u32 bits) {
                return __fmul_rn(__uint2float_rn(bits >> 8), __int_as_float(0x33800000));
            }
            __device__ __forceinline__ float unit_float_excluding_zero(u32 bits) {
                return __fmul_rn(__uint2float_rn((bits >> 8) + 1u), __int_as_float(0x33800000));
            }

            extern "C" __global__ void kusari_philox_uniform_f32(float* y, i64 n, u64 seed, u64 offset, float low,
                                                                 float span, float top) {
                KUSARI_FOR_EACH(b, (n + 3) / 4) {
                    const Bits4 bits = philox_block(offset + (u64)b, seed);
            #pragma unroll
                    for (int w = 0; w < 4; ++w) {
                        const i64 i = 4 * b + w;
                        if (i < n) {
                            const float v = __fadd_rn(low, __fmul_rn(span, unit_float(bits.w[w])));
                            y[i] = top < v ? top : v;
                        }
                    }
                }
            }

            extern "C" __global__ void kusari_philox_bernoulli_f32(float* y, i64 n, u64 seed, u64 offset,
                                                                   float probability, float value) {
                KUSARI_FOR_EACH(b, (n + 3) / 4) {
                    const Bits4 bits = philox_block(offset + (u64)b, seed);
            #pragma unroll
                    for (int w = 0; w < 4; ++w) {
                        const i64 i = 4 * b + w;
                        if (i < n) y[i] = unit_float(bits.w[w]) < probability ? value : 0.0f;
                    }
                }
            }

            #define RANDINT_KERNEL(suffix, T) \
                extern "C" __global__ void kusari_philox_randint_##suffix(T* y, i64 n, u64 seed, u64 offset, i64 low, \
                                                                         u64 range) { \
                    KUSARI_FOR_EACH(b, (n + 1) / 2) { \
                        const Bits4 bits = philox_block(offset + (u64)b, seed); \
                        for (int half = 0; half < 2; ++half) { \
                            const i64 i = 2 * b + half; \
                            if (i < n) { \
                                const u64 word = (u64)bits.w[2 * half] | ((u64)bits.w[2 * half + 1] << 32); \
                                y[i] = (T)(i64)((u64)low + __umul64hi(word, range)); \
                            } \
                        } \
                    } \
                }

            RANDINT_KERNEL(i32, int)
            RANDINT_KERNEL(i64, i64)

            extern "C" __global__ void kusari_philox_normal_f32(float* y, i64 n, u64 seed, u64 offset, float mean,
                                                                float std) {
                const float two_pi = __int_as_float(0x40C90FDB); /* 2 * Float.pi, rounded to float */
                KUSARI_FOR_EACH(b, (n + 3) / 4) {
                    const Bits4 bits = philox_block(offset + (u64)b, seed);
            #pragma unroll
                    for (int pair = 0; pair < 2; ++pair) {
                        const i64 i = 4 * b + 2 * pair;
                        if (i >= n) break;
                        const float u1 = unit_float_excluding_zero(bits.w[2 * pair]);
                        const float u2 = unit_float(bits.w[2 * pair + 1]);
                        const float logarithm = (float)log((double)u1);
                        const float radius = __fsqrt_rn(__fmul_rn(-2.0f, logarithm));
                        const float angle = __fmul_rn(two_pi, u2);
                        double sine, cosine;
                        sincos((double)angle, &sine, &cosine);
                        const float scaled = __fmul_rn(std, radius);
                        y[i] = __fadd_rn(mean, __fmul_rn(scaled, (float)cosine));
                        if (i + 1 < n) y[i + 1] = __fadd_rn(mean, __fmul_rn(scaled, (float)sine));
                    }
                }
            }

            """#,
        functions: ["kusari_philox_uniform_f32", "kusari_philox_bernoulli_f32"]
            + labelTypes.map { "kusari_philox_randint_\($0)" } + ["kusari_philox_normal_f32"])
}
