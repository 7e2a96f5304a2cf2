extension KernelSource {
    /// Row gather and scatter-add over a float32 `[rows, width]` table (embeddings):
    ///
    /// - `kusari_gather_rows_f32_{i32,i64}(table, index, out, n, width, rows, bad)`:
    ///   `out[r, :] = table[index[r], :]`; an index outside `0..<rows` writes zeros and lowers
    ///   `*bad` (`unsigned long long`, set to all ones beforehand) to its position `r`, so the
    ///   first bad position is left there (`bad` may be null).
    /// - `kusari_scatter_add_rows_f32_{i32,i64}(grad, index, table_grad, n, width, rows, bad)`:
    ///   `table_grad[index[r], :] += grad[r, :]` with atomic adds (fast; the order of additions,
    ///   and so the last bits, vary between runs); a bad index adds nothing and is reported in
    ///   `*bad` as by the gather.
    /// - `kusari_scatter_add_rows_sorted_f32(grad, order, starts, table_grad, rows, width)`:
    ///   the deterministic form, given the gathered rows grouped by table row (`order[starts[v]
    ///   ..< starts[v + 1]]` are the rows of `grad` that add to row `v`, in increasing order):
    ///   each output element adds its contributions in that order, exactly as the CPU does.
    public static let indexing = KernelSource(
        name: "indexing",
        body: #"""
            #define INDEXING_KERNELS(suffix, I) \
                extern "C" __global__ void kusari_gather_rows_f32_##suffix(const float* table, const I* index, float* out, \
                                                                          i64 n, i64 width, i64 rows, u64* bad) { \
                    KUSARI_FOR_EACH(p, n * width) { \
                        const i64 r = p / width, c = p - r * width; \
                        const i64 v = (i64)index[r]; \
                        if (v < 0 || v >= rows) { \
                            out[p] = 0.0f; \
                            if (bad) atomicMin(bad, (u64)r); \
                        } else { \
                            out[p] = table[v * width + c]; \
                        } \
                    } \
                } \
                extern "C" __global__ void kusari_scatter_add_rows_f32_##suffix(const float* grad, const I* index, \
                                                                               float* table_grad, i64 n, i64 width, \
                                                                               i64 rows, u64* bad) { \
                    KUSARI_FOR_EACH(p, n * width) { \
                        const i64 r = p / width, c = p - r * width; \
                        const i64 v = (i64)index[r]; \
                        if (v >= 0 && v < rows) { \
                            atomicAdd(table_grad + v * width + c, grad[p]); \
                        } else if (bad) { \
                            atomicMin(bad, (u64)r); \
                        } \
                    } \
                }

            INDEXING_KERNELS(i32, int)
            INDEXING_KERNELS(i64, i64)

            extern "C" __global__ void kusari_scatter_add_rows_sorted_f32(const float* grad, const i64* order,
                                                                          const i64* starts, float* table_grad,
                                                                          i64 rows, i64 width) {
                KUSARI_FOR_EACH(p, rows * width) {
                    const i64 v = p / width, c = p - v * width;
                    float s = table_grad[p];
                    for (i64 q = starts[v]; q < starts[v + 1]; ++q) s += grad[order[q] * width + c];
                    table_grad[p] = s;
                }
            }

            """#,
        functions: labelTypes.flatMap { ["kusari_gather_rows_f32_\($0)", "kusari_scatter_add_rows_f32_\($0)"] }
            + ["kusari_scatter_add_rows_sorted_f32"])
}
