import Foundation

/// Across-channel local response normalisation on plain NCHW data, vectorised over each
/// spatial plane with running window sums (oneDNN 2.6 only has a reference kernel for window
/// sizes other than 5, which was 30x slower on the TensorFlow CIFAR-10 model).
enum LRNKernels {
    /// `base = k + alpha/size * window_sum(x^2)` and `y = x * base^-beta`, per image.
    static func forward(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                        base: UnsafeMutablePointer<Float>, batch: Int, channels: Int, plane: Int,
                        size: Int, alpha: Float, beta: Float, k: Float) {
        let radius = size / 2, scale = alpha / Float(size)
        Threading.parallelFor(batch * channels, grain: Swift.max(1, 32_768 / Swift.max(plane, 1))) { start, end in
            var window = [Float](repeating: 0, count: plane)
            window.withUnsafeMutableBufferPointer { sum in
                var position = start
                while position < end {
                    // Each run covers consecutive channels of one image, restarting the window sum.
                    let n = position / channels, first = position % channels
                    let last = Swift.min(channels, first + (end - position))
                    let image = n * channels * plane
                    sum.update(repeating: 0)
                    for j in Swift.max(0, first - radius)..<Swift.min(channels, first + radius) {
                        let xj = x + image + j * plane
                        for s in 0..<plane { sum[s] += xj[s] * xj[s] }
                    }
                    for c in first..<last {
                        let entering = c + radius, leaving = c - radius - 1
                        if entering < channels {
                            let xe = x + image + entering * plane
                            for s in 0..<plane { sum[s] += xe[s] * xe[s] }
                        }
                        if leaving >= 0 {
                            let xl = x + image + leaving * plane
                            for s in 0..<plane { sum[s] -= xl[s] * xl[s] }
                        }
                        let offset = image + c * plane
                        let xc = x + offset, yc = y + offset, bc = base + offset
                        for s in 0..<plane { bc[s] = k + scale * sum[s] }
                        power(bc, xc, yc, count: plane, exponent: -beta)
                    }
                    position += last - first
                }
            }
        }
    }

    /// Gradient of ``forward``: `dx_i = dy_i base_i^-beta - 2 alpha beta / size * x_i *
    /// sum_{j near i} dy_j x_j base_j^(-beta-1)`.
    static func backward(_ x: UnsafeMutablePointer<Float>, base: UnsafeMutablePointer<Float>,
                         _ dy: UnsafeMutablePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                         batch: Int, channels: Int, plane: Int, size: Int, alpha: Float, beta: Float) {
        let radius = size / 2, factor = 2 * alpha * beta / Float(size)
        Threading.parallelFor(batch, grain: 1) { start, end in
            var ratio = [Float](repeating: 0, count: channels * plane)
            var sum = [Float](repeating: 0, count: plane)
            ratio.withUnsafeMutableBufferPointer { r in
                sum.withUnsafeMutableBufferPointer { acc in
                    for n in start..<end {
                        let image = n * channels * plane
                        // r_j = dy_j * x_j * base_j^(-beta-1) = dy_j * y_j / base_j, and dx's first term.
                        for c in 0..<channels {
                            let o = image + c * plane
                            let rc = r.baseAddress! + c * plane
                            power(base + o, dy + o, dx + o, count: plane, exponent: -beta)
                            for s in 0..<plane { rc[s] = dx[o + s] * x[o + s] / base[o + s] }
                        }
                        acc.update(repeating: 0)
                        for j in 0..<Swift.min(channels, radius) {
                            let rj = r.baseAddress! + j * plane
                            for s in 0..<plane { acc[s] += rj[s] }
                        }
                        for c in 0..<channels {
                            if c + radius < channels {
                                let re = r.baseAddress! + (c + radius) * plane
                                for s in 0..<plane { acc[s] += re[s] }
                            }
                            if c - radius - 1 >= 0 {
                                let rl = r.baseAddress! + (c - radius - 1) * plane
                                for s in 0..<plane { acc[s] -= rl[s] }
                            }
                            let o = image + c * plane
                            for s in 0..<plane { dx[o + s] -= factor * x[o + s] * acc[s] }
                        }
                    }
                }
            }
        }
    }

    /// `output = input * base^exponent`, with fast paths for the exponents LRN uses.
    @inline(__always)
    private static func power(_ base: UnsafeMutablePointer<Float>, _ input: UnsafeMutablePointer<Float>,
                              _ output: UnsafeMutablePointer<Float>, count: Int, exponent: Float) {
        switch exponent {
        case -0.75:
            for s in 0..<count {
                let root = base[s].squareRoot()
                output[s] = input[s] / (root * root.squareRoot())
            }
        case -0.5:
            for s in 0..<count { output[s] = input[s] / base[s].squareRoot() }
        default:
            for s in 0..<count { output[s] = input[s] * Foundation.pow(base[s], exponent) }
        }
    }
}
