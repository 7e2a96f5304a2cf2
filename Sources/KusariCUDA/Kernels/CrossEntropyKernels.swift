extension KernelSource {
    /// Label element types of the cross-entropy and gather kernels (`_i32` / `_i64` suffixes).
    static let labelTypes = ["i32", "i64"]

    /// Softmax cross-entropy over dense `[rows, classes]` float32 logits with integer labels,
    /// following ``Kusari/softmaxCrossEntropy(_:_:ignoreIndex:reduction:)``:
    ///
    /// `kusari_softmax_cross_entropy_f32_{i32,i64}(logits, labels, loss, grad, bad_row, rows, classes,
    /// ignore)` works in one pass, one block per row: `loss[r] = log Σ exp(x - max) + max - x[label]`
    /// and `grad = softmax - onehot` (`exp(x - max) · (1 / Σ exp(x - max))`, then 1 taken off at
    /// the label, as the CPU does); `ignore` rows get loss 0 and a zero gradient row. A label
    /// outside `0..<classes` gives NaNs and lowers `*bad_row` (`unsigned long long`, set to all
    /// ones beforehand) to its row, so the lowest such row is left there.
    public static let crossEntropy = KernelSource(
        name: "cross_entropy",
        body: #"""
            #define CROSS_ENTROPY_KERNELS(suffix, L) \
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

            """#,
        functions: labelTypes.map { "kusari_softmax_cross_entropy_f32_\($0)" })
}
