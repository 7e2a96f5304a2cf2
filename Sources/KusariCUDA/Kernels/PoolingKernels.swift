extension KernelSource {
    /// 2-d max and average pooling of dense NCHW float32 data, forward and backward, with the
    /// CPU's (PyTorch's) window rules. Every kernel takes a `PoolGeometry`: the number of
    /// `N·C` planes, the input and output plane sizes, and the window's kernel, stride and
    /// (begin) padding; windows past the end (ceil mode) are cut at the input's edge.
    ///
    /// - `kusari_max_pool_forward_f32(x, y, index, g)`, one thread per output: the window's
    ///   maximum (the first NaN if any, `-inf` for a window without input elements) into `y`,
    ///   and the in-plane position of its first maximum (`-1` for an empty window) into `index`;
    ///   either output may be null.
    /// - `kusari_max_pool_backward_f32(gy, index, gx, g)`, one thread per input element: the sum
    ///   of the output gradients of the windows whose `index` names it, in output order.
    /// - `kusari_avg_pool_forward_f32(x, y, g, include)`, one thread per output, and
    ///   `kusari_avg_pool_backward_f32(gy, gx, g, include)`, one thread per input element: the
    ///   divisor is the window's area clipped to the padded input when `include` is nonzero,
    ///   else the number of input elements in the window.
    ///
    /// The backward kernels gather rather than scatter, so they are deterministic.
    public static let pooling = KernelSource(
        name: "pooling",
        body: #"""
            struct PoolGeometry {
                i64 planes, height, width, out_height, out_width;
                i64 kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
            };

            /* The outputs whose window covers input position p along one axis: [first, last). */
            __device__ __forceinline__ void covering_outputs(i64 p, i64 kernel, i64 stride, i64 pad, i64 outputs,
                                                             i64& first, i64& last) {
                const i64 shifted = p + pad;
                first = shifted < kernel ? 0 : (shifted - kernel) / stride + 1;
                last = shifted / stride + 1;
                if (last > outputs) last = outputs;
            }

            /* Output o's plane, window origin (y0, x0), and the window's rows [h0, h1) and columns
               [w0, w1) inside the input. */
            __device__ __forceinline__ void pool_window(const PoolGeometry& g, i64 o, i64& plane, i64& y0, i64& x0,
                                                        i64& h0, i64& h1, i64& w0, i64& w1) {
                const i64 plane_out = g.out_height * g.out_width;
                plane = o / plane_out;
                const i64 r = o - plane * plane_out, oh = r / g.out_width, ow = r - oh * g.out_width;
                y0 = oh * g.stride_h - g.pad_h;
                x0 = ow * g.stride_w - g.pad_w;
                h0 = y0 > 0 ? y0 : 0;
                w0 = x0 > 0 ? x0 : 0;
                h1 = y0 + g.kernel_h < g.height ? y0 + g.kernel_h : g.height;
                w1 = x0 + g.kernel_w < g.width ? x0 + g.kernel_w : g.width;
            }

            /* The average's divisor for the window starting at (y0, x0). */
            __device__ __forceinline__ float pool_divisor(const PoolGeometry& g, i64 y0, i64 x0, int include) {
                i64 y1 = y0 + g.kernel_h, x1 = x0 + g.kernel_w;
                if (y1 > g.height + g.pad_h) y1 = g.height + g.pad_h;
                if (x1 > g.width + g.pad_w) x1 = g.width + g.pad_w;
                if (include) return (float)((y1 - y0) * (x1 - x0));
                const i64 rows = (y1 < g.height ? y1 : g.height) - (y0 > 0 ? y0 : 0);
                const i64 columns = (x1 < g.width ? x1 : g.width) - (x0 > 0 ? x0 : 0);
                return (float)(rows * columns);
            }

            extern "C" __global__ void kusari_max_pool_forward_f32(const float* x, float* y, i64* index,
                                                                   const PoolGeometry g) {
                KUSARI_FOR_EACH(o, g.planes * g.out_height * g.out_width) {
                    i64 plane, y0, x0, h0, h1, w0, w1;
                    pool_window(g, o, plane, y0, x0, h0, h1, w0, w1);
                    const float* source = x + plane * g.height * g.width;
                    float best = -kusari_infinity();
                    i64 at = -1;
                    for (i64 h = h0; h < h1 && best == best; ++h) {
                        for (i64 w = w0; w < w1; ++w) {
                            const float v = source[h * g.width + w];
                            if (at < 0 || v > best || v != v) {
                                best = v;
                                at = h * g.width + w;
                                if (v != v) break;
                            }
                        }
                    }
                    if (y) y[o] = best;
                    if (index) index[o] = at;
                }
            }

            extern "C" __global__ void kusari_max_pool_backward_f32(const float* gy, const i64* index, float* gx,
                                                                    const PoolGeometry g) {
                const i64 plane_in = g.height * g.width, plane_out = g.out_height * g.out_width;
                KUSARI_FOR_EACH(i, g.planes * plane_in) {
                    const i64 plane = i / plane_in, r = i - plane * plane_in;
                    const i64 h = r / g.width, w = r - h * g.width;
                    i64 oh0, oh1, ow0, ow1;
                    covering_outputs(h, g.kernel_h, g.stride_h, g.pad_h, g.out_height, oh0, oh1);
                    covering_outputs(w, g.kernel_w, g.stride_w, g.pad_w, g.out_width, ow0, ow1);
                    const i64 base = plane * plane_out;
                    float sum = 0.0f;
                    for (i64 oh = oh0; oh < oh1; ++oh) {
                        for (i64 ow = ow0; ow < ow1; ++ow) {
                            const i64 o = base + oh * g.out_width + ow;
                            if (index[o] == r) sum += gy[o];
                        }
                    }
                    gx[i] = sum;
                }
            }

            extern "C" __global__ void kusari_avg_pool_forward_f32(const float* x, float* y, const PoolGeometry g,
                                                                   int include) {
                KUSARI_FOR_EACH(o, g.planes * g.out_height * g.out_width) {
                    i64 plane, y0, x0, h0, h1, w0, w1;
                    pool_window(g, o, plane, y0, x0, h0, h1, w0, w1);
                    const float* source = x + plane * g.height * g.width;
                    float sum = 0.0f;
                    for (i64 h = h0; h < h1; ++h) {
                        for (i64 w = w0; w < w1; ++w) sum += source[h * g.width + w];
                    }
                    y[o] = sum / pool_divisor(g, y0, x0, include);
                }
            }

            extern "C" __global__ void kusari_avg_pool_backward_f32(const float* gy, float* gx, const PoolGeometry g,
                                                                    int include) {
                const i64 plane_in = g.height * g.width, plane_out = g.out_height * g.out_width;
                KUSARI_FOR_EACH(i, g.planes * plane_in) {
                    const i64 plane = i / plane_in, r = i - plane * plane_in;
                    const i64 h = r / g.width, w = r - h * g.width;
                    i64 oh0, oh1, ow0, ow1;
                    covering_outputs(h, g.kernel_h, g.stride_h, g.pad_h, g.out_height, oh0, oh1);
                    covering_outputs(w, g.kernel_w, g.stride_w, g.pad_w, g.out_width, ow0, ow1);
                    const float* gradient = gy + plane * plane_out;
                    float sum = 0.0f;
                    for (i64 oh = oh0; oh < oh1; ++oh) {
                        for (i64 ow = ow0; ow < ow1; ++ow) {
                            const i64 y0 = oh * g.stride_h - g.pad_h, x0 = ow * g.stride_w - g.pad_w;
                            sum += gradient[oh * g.out_width + ow] / pool_divisor(g, y0, x0, include);
                        }
                    }
                    gx[i] = sum;
                }
            }

            """#,
        functions: ["kusari_max_pool_forward_f32", "kusari_max_pool_backward_f32", "kusari_avg_pool_forward_f32",
                    "kusari_avg_pool_backward_f32"])
}
