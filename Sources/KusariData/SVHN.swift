import CMatio
import Foundation

/// The Street View House Numbers dataset, cropped-digits format (Netzer et al. 2011): the
/// official MATLAB files `train_32x32.mat` (73,257 images), `test_32x32.mat` (26,032) and
/// `extra_32x32.mat` (531,131), read through libmatio.
///
/// Each file holds `X`, uint8 `[32, 32, 3, N]` in MATLAB's column-major layout (row, column,
/// channel, image), and `y`, `[N, 1]` labels in `1...10` where 10 stands for the digit 0.
/// ``load(directory:split:)`` returns the images as bytes in CHW order `[3, 32, 32]` and the
/// labels as digits `0...9`.
public enum SVHN {
    /// One of the three official files.
    public enum Split: String, CaseIterable, Sendable {
        case train, test, extra

        /// The official file name, e.g. `train_32x32.mat`.
        public var fileName: String { "\(rawValue)_32x32.mat" }
    }

    /// Class names: the digits `"0"` ... `"9"` (label `k` is digit `k`).
    public static let classNames = (0...9).map(String.init)
    /// Image shape `[C, H, W]`.
    public static let imageShape = [3, 32, 32]

    /// Reads `split` from `directory/<split>_32x32.mat`.
    public static func load(directory: URL, split: Split) throws -> ImageDataset {
        try load(file: directory.appendingPathComponent(split.fileName))
    }

    /// Reads one SVHN cropped-digits MAT-file.
    ///
    /// - Throws: ``DatasetError`` naming the file and the variable when the file is missing,
    ///   unreadable, lacks `X` or `y`, has the wrong class or dimensions, or has a label outside
    ///   `1...10`.
    public static func load(file url: URL) throws -> ImageDataset {
        let path = url.path
        // X is used straight from libmatio's buffer (the extra split is 1.6 GB).
        return try MatFile.withRawVariables(["X", "y"], from: url) { variables in
            let (x, y) = (variables[0], variables[1])
            guard x.elementClass == MAT_C_UINT8 else {
                throw DatasetError(file: path, location: "variable X", message: "class \(x.className), expected uint8")
            }
            // MATLAB drops trailing singleton dimensions: a file with one image has X of [32, 32, 3].
            let dims = x.dims.count == 3 ? x.dims + [1] : x.dims
            guard dims.count == 4, dims[0] == 32, dims[1] == 32, dims[2] == 3 else {
                throw DatasetError(file: path, location: "variable X",
                                   message: "dimensions \(x.dims), expected [32, 32, 3, N]")
            }
            let count = dims[3]
            let labelCount = y.dims.reduce(1, *)
            guard y.dims.count == 2, y.dims.contains(1) || count == 0 && y.dims.contains(0), labelCount == count else {
                throw DatasetError(file: path, location: "variable y",
                                   message: "dimensions \(y.dims), expected [\(count), 1] (one label per image of X)")
            }
            // The official files store y as double; accept any numeric class holding integers 1...10.
            let labels = try y.doubles.enumerated().map { try digit($0.element, index: $0.offset, path: path) }
            let images = columnMajorPlanesToRowMajor(x.bytes.bindMemory(to: UInt8.self), height: 32, width: 32,
                                                     planes: 3 * count)
            return ImageDataset(images: images, labels: labels, imageShape: imageShape, classNames: classNames)
        }
    }

    /// Maps an SVHN label `1...10` to a digit `0...9` (10 means 0).
    private static func digit(_ value: Double, index: Int, path: String) throws -> Int32 {
        guard value >= 1, value <= 10, value == value.rounded() else {
            throw DatasetError(file: path, location: "variable y, element \(index + 1)",
                               message: "label \(value), expected an integer in 1...10")
        }
        return value == 10 ? 0 : Int32(value)
    }

    /// Converts `planes` consecutive `height x width` planes from column-major (MATLAB) to
    /// row-major order: `out[p][h][w] = in[p][w][h]`.
    static func columnMajorPlanesToRowMajor(_ src: UnsafeBufferPointer<UInt8>, height: Int, width: Int, planes: Int) -> [UInt8] {
        let planeSize = height * width
        precondition(src.count == planes * planeSize)
        guard planes > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: src.count) { out, initialized in
            let chunk = 4096
            let chunks = (planes + chunk - 1) / chunk
            let outBase = out.baseAddress!
            let srcBase = src.baseAddress!
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                for p in (c * chunk)..<min(planes, (c + 1) * chunk) {
                    let s = srcBase + p * planeSize
                    let d = outBase + p * planeSize
                    for h in 0..<height {
                        for w in 0..<width {
                            d[h * width + w] = s[h + height * w]
                        }
                    }
                }
            }
            initialized = src.count
        }
    }
}
