/// Shape arithmetic shared by every op: element counts, contiguous strides, axis
/// normalisation and NumPy broadcasting.
public enum Shape {
    /// Number of elements of a shape (1 for a scalar).
    @inlinable public static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Row-major (C-order) strides, in elements.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= max(shape[axis], 1)
        }
        return strides
    }

    /// Maps a possibly negative axis onto `0..<rank`.
    public static func normalize(axis: Int, rank: Int) -> Int {
        let normalized = axis < 0 ? axis + rank : axis
        require(normalized >= 0 && normalized < max(rank, 1), "axis \(axis) out of range for rank \(rank)")
        return normalized
    }

    /// The broadcast shape of two shapes under NumPy rules, or `nil` when incompatible.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { result[i] = da } else if da == 1 { result[i] = db } else { return nil }
        }
        return result
    }

    /// Strides that read a tensor of `shape`/`strides` as if it had `target` shape (stride 0
    /// along broadcast axes).
    public static func broadcastStrides(shape: [Int], strides: [Int], to target: [Int]) -> [Int] {
        let offset = target.count - shape.count
        var result = [Int](repeating: 0, count: target.count)
        for i in 0..<shape.count where shape[i] != 1 || target[i + offset] == 1 {
            result[i + offset] = shape[i] == 1 ? 0 : strides[i]
        }
        return result
    }
}
