extension KernelSource {
    /// Label element types of the cross-entropy and gather kernels (`_i32` / `_i64` suffixes).
    static let labelTypes = ["i32", "i64"]

    /// Softmax cross-entropy over dense `[rows, classes]` float32 logits with integer labels,
    /// following ``Kusari/softmaxCrossEntropy(_:_:ignoreIndex:reduction:)``:
    ///
    /// - `kusari_softmax_cross_entropy_forward_f32_{i32,i64}(logits, labels, loss, valid,
    ///   row_max, row_inverse_total, bad_row, rows, classes, ignore)`: one block per row;
    ///   `loss[r] = log Σ exp(x - max) + max - x[label]`, `valid[r]` is 1 (0 for `ignore`
    ///   rows, whose loss is 0), and the row's max and `1 / Σ exp(x - max)` are kept for the
    ///   backward. A label outside `0..<classes` gives a NaN loss and sets `*bad_row` to its
    ///   row + 1 (first such row wins; `bad_row` may be null).
    /// - `kusari_softmax_cross_entropy_f32_{i32,i64}(logits, labels, loss, grad, bad_row, rows,
    ///   classes, ignore)`: the per-row form in one pass, one block per row: `loss[r]` as above
    ///   and `grad = softmax - onehot` (`exp(x - max) · (1 / Σ exp(x - max))`, then 1 taken off at
    ///   the label, as the CPU does); `ignore` rows get loss 0 and a zero gradient row. A label
    ///   outside `0..<classes` gives NaNs and lowers `*bad_row` (`unsigned long long`, set to all
    ///   ones beforehand) to its row, so the lowest such row is left there.
    /// - `kusari_mean_over_count_f32(total, count, out)`: `total / max(count, 1)` (the mean
    ///   reduction, after summing `loss` and `valid` with the reduction kernels).
    /// - `kusari_softmax_cross_entropy_backward_f32_{i32,i64}(logits, labels, row_max,
    ///   row_inverse_total, grad_loss, grad_stride, valid_total, grad, rows, classes, ignore)`:
    ///   `grad = (softmax - onehot) * grad_loss[r * grad_stride]`, divided by
    ///   `max(*valid_total, 1)` when `valid_total` is not null (mean); zero on ignored rows.
    public static let crossEntropy = KernelSource(
        name: "cross_entropy",
        body: #"""
            #define CROSS_ENTROPY_KERNELS(suffix, L) \
                extern "C" __global__ void kusari_softmax_cross_entropy_forward_f32_##suffix( \
                        const float* logits, const L* labels, float* loss, float* valid, float* row_max, \
                        float* row_inverse_total, int* bad_row, i64 rows, i64 classes, i64 ignore) { \
                    __shared__ float shared[33]; \
                    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) { \
                        const i64 label = (i64)labels[r]; \
                        const float* row = logits + r * classes; \
                        if (label == ignore || label < 0 || label >= classes) { \
                            if (threadIdx.x == 0) { \
                                const bool ignored = label == ignore; \
                                loss[r] = ignored ? 0.0f : kusari_nan(); \
                                valid[r] = 0.0f; \
                                row_max[r] = 0.0f; \
                                row_inverse_total[r] = 0.0f; \
                                if (!ignored && bad_row) atomicCAS(bad_row, 0, (int)(r + 1)); \
                            } \
                            continue; \
                        } \
                        float peak = -kusari_infinity(); \
                        for (i64 c = threadIdx.x; c < classes; c += blockDim.x) peak = fmaxf(peak, row[c]); \
                        peak = block_reduce(peak, true, shared); \
                        float total = 0.0f; \
                        for (i64 c = threadIdx.x; c < classes; c += blockDim.x) total += expf(row[c] - peak); \
                        total = block_reduce(total, false, shared); \
                        if (threadIdx.x == 0) { \
                            loss[r] = logf(total) + peak - row[label]; \
                            valid[r] = 1.0f; \
                            row_max[r] = peak; \
                            row_inverse_total[r] = 1.0f / total; \
                        } \
                    } \
                } \
                extern "C" __global__ void kusari_softmax_cross_entropy_backward_f32_##suffix( \
                        const float* logits, const L* labels, const float* row_max, const float* row_inverse_total, \
                        const float* grad_loss, i64 grad_stride, const float* valid_total, float* grad, \
                        i64 rows, i64 classes, i64 ignore) { \
                    KUSARI_FOR_EACH(p, rows * classes) { \
                        const i64 r = p / classes, c = p - r * classes; \
                        const i64 label = (i64)labels[r]; \
                        float coefficient = grad_loss[r * grad_stride]; \
                        if (valid_total) coefficient = coefficient * (1.0f / fmaxf(*valid_total, 1.0f)); \
                        float g = 0.0f; \
                        if (label != ignore) { \
                            g = expf(logits[p] - row_max[r]) * row_inverse_total[r]; \
                            if (c == label) g -= 1.0f; \
                        } \
                        grad[p] = g * coefficient; \
                    } \
                } \
                extern "C" __global__ void kusari_softmax_cross_entropy_f32_##suffix( \
                        const float* logits, const L* labels, float* loss, float* grad, u64* bad_row, i64 rows, \
                        i64 classes, i64 ignore) { \
                    __shared__ float shared[33]; \
                    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) { \
                        const i64 label = (i64)labels[r]; \
                        const float* row = logits + r * classes; \
                        float* gradient = grad + r * classes; \
                        if (label == ignore || label < 0 || label >= classes) { \
                            const float fill = label == ignore ? 0.0f : kusari_nan(); \
                            for (i64 c = threadIdx.x; c < classes; c += blockDim.x) gradient[c] = fill; \
                            if (threadIdx.x == 0) { \
                                loss[r] = fill; \
                                if (label != ignore) atomicMin(bad_row, (u64)r); \
                            } \
                            continue; \
                        } \
                        float peak = -kusari_infinity(); \
                        for (i64 c = threadIdx.x; c < classes; c += blockDim.x) peak = fmaxf(peak, row[c]); \
                        peak = block_reduce(peak, true, shared); \
                        float total = 0.0f; \
                        for (i64 c = threadIdx.x; c < classes; c += blockDim.x) total += expf(row[c] - peak); \
                        total = block_reduce(total, false, shared); \
                        const float inverse = 1.0f / total; \
                        for (i64 c = threadIdx.x; c < classes; c += blockDim.x) { \
                            const float p = expf(row[c] - peak) * inverse; \
                            gradient[c] = c == label ? p - 1.0f : p; \
                        } \
                        if (threadIdx.x == 0) loss[r] = logf(total) + peak - row[label]; \
                    } \
                }

            CROSS_ENTROPY_KERNELS(i32, int)
            CROSS_ENTROPY_KERNELS(i64, i64)

            extern "C" __global__ void kusari_mean_over_count_f32(const float* total, const float* count, float* out) {
                if (blockIdx.x == 0 && threadIdx.x == 0) out[0] = total[0] * (1.0f / fmaxf(count[0], 1.0f));
            }

            """#,
        functions: labelTypes.flatMap {
            ["kusari_softmax_cross_entropy_forward_f32_\($0)", "kusari_softmax_cross_entropy_backward_f32_\($0)",
             "kusari_softmax_cross_entropy_f32_\($0)"]
        } + ["kusari_mean_over_count_f32"])
}
