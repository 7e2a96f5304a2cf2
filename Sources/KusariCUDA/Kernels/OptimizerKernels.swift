extension KernelSource {
    /// In-place float32 parameter updates with the arithmetic of KusariOptim's CPU kernels,
    /// operation for operation and without fused multiply-adds, so a GPU step gives the same
    /// bits as a CPU step from the same state:
    ///
    /// - `kusari_sgd_f32(p, g, n, lr, scale, device_scale, decay)`:
    ///   `p -= lr * (s * g + decay * p)`;
    /// - `kusari_momentum_sgd_f32(p, g, v, n, lr, scale, device_scale, decay, momentum,
    ///   nesterov)`: `v = momentum * v + d`, `p -= lr * v` (Nesterov: `p -= lr * (d + momentum
    ///   * v)`), with `d = s * g + decay * p`;
    /// - `kusari_adam_f32(p, g, m, v, n, scale, device_scale, decay, shrink, beta1,
    ///   one_minus_beta1, beta2, one_minus_beta2, step_size, inverse_root_correction2, eps)`:
    ///   `d = s * g + decay * p`, `m = beta1 * m + (1 - beta1) * d`,
    ///   `v = beta2 * v + (1 - beta2) * d²`, `p = p * shrink - step_size * m / (√v *
    ///   inverse_root_correction2 + eps)`; Adam passes its L2 `decay` and `shrink = 1`, AdamW
    ///   `decay = 0` and `shrink = 1 - lr * weight_decay`. The bias corrections are computed on
    ///   the host per step, as the CPU does.
    ///
    /// - `kusari_flag_nonfinite_f32(x, n, flag)`: sets `flag[0] = 1` when an element of `x` is
    ///   infinite or NaN (`!(|x| <= FLT_MAX)`); the flag starts at 0 and is only ever set.
    ///
    /// `s` is `*device_scale` when that pointer is not null (a gradient-clipping or loss-scaling
    /// factor computed on the GPU), otherwise `scale`.
    public static let optimizer = KernelSource(
        name: "optimizer",
        body: #"""
            __device__ __forceinline__ float gradient_scale(float scale, const float* device_scale) {
                return device_scale ? device_scale[0] : scale;
            }

            extern "C" __global__ void kusari_flag_nonfinite_f32(const float* x, i64 n, float* flag) {
                KUSARI_FOR_EACH(i, n) {
                    if (!(fabsf(x[i]) <= 3.40282347e38f)) flag[0] = 1.0f;
                }
            }

            extern "C" __global__ void kusari_sgd_f32(float* p, const float* g, i64 n, float lr, float scale,
                                                      const float* device_scale, float decay) {
                const float s = gradient_scale(scale, device_scale);
                KUSARI_FOR_EACH(i, n) {
                    const float pi = p[i];
                    const float d = __fadd_rn(__fmul_rn(s, g[i]), __fmul_rn(decay, pi));
                    p[i] = __fsub_rn(pi, __fmul_rn(lr, d));
                }
            }

            extern "C" __global__ void kusari_momentum_sgd_f32(float* p, const float* g, float* v, i64 n, float lr,
                                                               float scale, const float* device_scale, float decay,
                                                               float momentum, int nesterov) {
                const float s = gradient_scale(scale, device_scale);
                KUSARI_FOR_EACH(i, n) {
                    const float pi = p[i];
                    const float d = __fadd_rn(__fmul_rn(s, g[i]), __fmul_rn(decay, pi));
                    const float velocity = __fadd_rn(__fmul_rn(momentum, v[i]), d);
                    v[i] = velocity;
                    const float step = nesterov ? __fadd_rn(d, __fmul_rn(momentum, velocity)) : velocity;
                    p[i] = __fsub_rn(pi, __fmul_rn(lr, step));
                }
            }

            extern "C" __global__ void kusari_adam_f32(float* p, const float* g, float* m, float* v, i64 n, float scale,
                                                       const float* device_scale, float decay, float shrink,
                                                       float beta1, float one_minus_beta1, float beta2,
                                                       float one_minus_beta2, float step_size,
                                                       float inverse_root_correction2, float eps) {
                const float s = gradient_scale(scale, device_scale);
                KUSARI_FOR_EACH(i, n) {
                    const float pi = p[i];
                    const float d = __fadd_rn(__fmul_rn(s, g[i]), __fmul_rn(decay, pi));
                    const float mi = __fadd_rn(__fmul_rn(beta1, m[i]), __fmul_rn(one_minus_beta1, d));
                    const float vi = __fadd_rn(__fmul_rn(beta2, v[i]), __fmul_rn(one_minus_beta2, __fmul_rn(d, d)));
                    m[i] = mi;
                    v[i] = vi;
                    const float denominator = __fadd_rn(__fmul_rn(__fsqrt_rn(vi), inverse_root_correction2), eps);
                    p[i] = __fsub_rn(__fmul_rn(pi, shrink), __fdiv_rn(__fmul_rn(step_size, mi), denominator));
                }
            }

            """#,
        functions: ["kusari_sgd_f32", "kusari_momentum_sgd_f32", "kusari_adam_f32", "kusari_flag_nonfinite_f32"])
}
