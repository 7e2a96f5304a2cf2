/// Reductions along one axis of a dense tensor viewed as `[outer, length, inner]`.
enum AxisReduction {
    enum Kind {
        case sum, max, min

        /// The same reduction on a GPU.
        var deviceOperation: ReductionOperation {
            switch self {
            case .sum: return .sum
            case .max: return .max
            case .min: return .min
            }
        }
    }

    /// Reduces the middle axis of dense `input` viewed as `[outer, length, inner]` into
    /// `[outer, inner]`.
    static func reduce(_ kind: Kind, _ input: UnsafeMutablePointer<Float>, outer: Int, length: Int, inner: Int,
                       into output: UnsafeMutablePointer<Float>) {
        if inner == 1 {
            Threading.parallelFor(outer, grain: max(1, 16_384 / max(length, 1))) { start, end in
                for o in start..<end {
                    let row = input + o * length
                    switch kind {
                    case .sum:
                        // Four partial sums per block of 1024 keep the loop vectorisable; block
                        // totals accumulate in Double so long rows do not drift.
                        var total: Double = 0
                        var blockStart = 0
                        while blockStart < length {
                            let blockEnd = Swift.min(length, blockStart + 1024)
                            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                            var i = blockStart
                            while i + 4 <= blockEnd {
                                s0 += row[i]; s1 += row[i + 1]; s2 += row[i + 2]; s3 += row[i + 3]
                                i += 4
                            }
                            while i < blockEnd { s0 += row[i]; i += 1 }
                            total += Double((s0 + s1) + (s2 + s3))
                            blockStart = blockEnd
                        }
                        output[o] = Float(total)
                    case .max:
                        var m = -Float.infinity
                        for i in 0..<length where row[i] > m || row[i].isNaN { m = row[i]; if m.isNaN { break } }
                        output[o] = m
                    case .min:
                        var m = Float.infinity
                        for i in 0..<length where row[i] < m || row[i].isNaN { m = row[i]; if m.isNaN { break } }
                        output[o] = m
                    }
                }
            }
            return
        }
        // Split across whichever of outer/inner has more work.
        let work = outer * inner
        Threading.parallelFor(work, grain: max(1, 16_384 / max(length, 1))) { start, end in
            var position = start
            while position < end {
                let o = position / inner, i0 = position % inner
                let i1 = min(inner, i0 + (end - position))
                let dst = output + o * inner
                let base = input + o * length * inner
                for i in i0..<i1 { dst[i] = base[i] }
                for k in 1..<max(length, 1) {
                    let src = base + k * inner
                    switch kind {
                    case .sum: for i in i0..<i1 { dst[i] += src[i] }
                    case .max: for i in i0..<i1 where !(src[i] <= dst[i]) { dst[i] = src[i] }
                    case .min: for i in i0..<i1 where !(src[i] >= dst[i]) { dst[i] = src[i] }
                    }
                }
                if length == 0 {
                    let empty: Float = kind == .sum ? 0 : (kind == .max ? -.infinity : .infinity)
                    for i in i0..<i1 { dst[i] = empty }
                }
                position += i1 - i0
            }
        }
    }

    /// Index of the first maximum (or minimum) along the middle axis of `[outer, length, inner]`.
    static func argExtreme(_ input: UnsafeMutablePointer<Float>, outer: Int, length: Int, inner: Int,
                           maximum: Bool, into output: UnsafeMutablePointer<Int64>) {
        Threading.parallelFor(outer * inner, grain: max(1, 16_384 / max(length, 1))) { start, end in
            for position in start..<end {
                let o = position / inner, i = position % inner
                let base = input + o * length * inner + i
                var best = base.pointee, bestIndex = 0
                for k in 1..<max(length, 1) {
                    let v = base[k * inner]
                    if v.isNaN && !best.isNaN { best = v; bestIndex = k; break }
                    if maximum ? v > best : v < best { best = v; bestIndex = k }
                }
                output[position] = Int64(bestIndex)
            }
        }
    }
}
