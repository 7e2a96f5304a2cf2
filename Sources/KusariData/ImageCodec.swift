import CPNG
import CTurboJPEG
import Foundation

/// Reading and writing PNG (libpng's simplified API) and JPEG (libjpeg-turbo's TurboJPEG API)
/// images as bytes in CHW order, and resizing them.
///
/// Decoding converts every PNG flavour (grayscale, gray+alpha, RGB, RGBA, palette with or without
/// transparency, 1- to 16-bit) and every JPEG (grayscale or colour) to 8-bit RGB, or to 8-bit
/// gray when `channels` is 1. An alpha channel is dropped (not composited), as PIL's
/// `convert("RGB")` does; 16-bit samples without colour-space information are taken as sRGB and
/// scaled to 8 bits. Errors are ``DatasetError``s naming the file.
public enum ImageCodec {
    /// The largest image decoded, in pixels (guards against absurd sizes in corrupt headers).
    public static let maximumPixels = 1 << 28

    // MARK: - Decoding

    /// Reads a PNG or JPEG file (recognised by its signature, not its extension).
    ///
    /// - Parameter channels: 3 for RGB (default) or 1 for gray.
    /// - Returns: the pixels in CHW order and their shape `[channels, height, width]`.
    public static func readImage(_ url: URL, channels: Int = 3) throws -> (pixels: [UInt8], shape: [Int]) {
        try decodeImage(readFile(url), name: url.path, channels: channels)
    }

    /// Decodes PNG or JPEG bytes; `name` is the file named in errors.
    public static func decodeImage(_ data: Data, name: String, channels: Int = 3) throws -> (pixels: [UInt8], shape: [Int]) {
        precondition(channels == 1 || channels == 3, "ImageCodec: channels must be 1 or 3, got \(channels)")
        if data.starts(with: pngSignature) {
            return try decodePNG(data, name: name, channels: channels)
        }
        if data.starts(with: [0xFF, 0xD8, 0xFF]) {
            return try decodeJPEG(data, name: name, channels: channels)
        }
        if data.isEmpty {
            throw DatasetError(file: name, location: "byte 0", message: "empty file, expected a PNG or JPEG image")
        }
        throw DatasetError(file: name, location: "byte 0",
                           message: "unknown signature \(hex(data.prefix(8))), expected a PNG or JPEG image")
    }

    /// Reads the raw palette indices of a colour-mapped PNG, as PASCAL VOC stores segmentation
    /// labels (index 255 marks object borders); an 8-bit grayscale PNG gives its gray values.
    ///
    /// The indices are never mapped through the palette, so two palettes with the same colours
    /// in a different order give different indices.
    public static func readPalettePNG(_ url: URL) throws -> (indices: [UInt8], height: Int, width: Int) {
        let name = url.path
        let data = try readFile(url)
        guard data.starts(with: pngSignature) else {
            throw DatasetError(file: name, location: "byte 0", message: "not a PNG file (signature \(hex(data.prefix(8))))")
        }
        return try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> (indices: [UInt8], height: Int, width: Int) in
            let reader = try PNGReader(bytes, name: name)
            let (width, height) = (reader.width, reader.height)
            let fileFormat = reader.image.pointee.format
            if fileFormat & PNGFormat.colormap != 0 {
                // Palette file: with a colour-mapped output format libpng passes the file's
                // indices through unchanged and writes the (converted) palette to `colormap`.
                reader.image.pointee.format = PNGFormat.color | PNGFormat.alpha | PNGFormat.colormap
                var colormap = [UInt8](repeating: 0, count: 256 * 4)
                var indices = [UInt8](repeating: 0, count: width * height)
                try colormap.withUnsafeMutableBytes { try reader.finish(into: &indices, colormap: $0.baseAddress) }
                return (indices, height, width)
            }
            guard fileFormat & (PNGFormat.color | PNGFormat.alpha | PNGFormat.linear) == 0 else {
                throw DatasetError(file: name, location: "IHDR",
                                   message: "\(describe(format: fileFormat)) image, expected a palette or 8-bit grayscale PNG of labels")
            }
            reader.image.pointee.format = PNGFormat.gray
            var indices = [UInt8](repeating: 0, count: width * height)
            try reader.finish(into: &indices, colormap: nil)
            return (indices, height, width)
        }
    }

    // MARK: - Encoding

    /// Writes an 8-bit PNG. `shape` is `[C, H, W]` with C = 1 (gray), 2 (gray+alpha), 3 (RGB) or
    /// 4 (RGBA); `pixels` are in CHW order.
    public static func writePNG(pixels: [UInt8], shape: [Int], to url: URL) throws {
        let (c, h, w) = try checkShape(pixels, shape, channels: [1, 2, 3, 4], name: url.path)
        let formats: [UInt32] = [PNGFormat.gray, PNGFormat.alpha, PNGFormat.color, PNGFormat.color | PNGFormat.alpha]
        try writeSimplePNG(interleave(pixels, channels: c, height: h, width: w), width: w, height: h,
                           format: formats[c - 1], colormap: nil, to: url)
    }

    /// Writes a colour-mapped (palette) PNG, the format of PASCAL VOC label images: `indices` are
    /// `height * width` row-major palette indices, `palette` holds `entries * 3` bytes (R, G, B per
    /// entry, at most 256 entries, and every index must be below `entries`).
    public static func writePalettePNG(indices: [UInt8], height: Int, width: Int, palette: [UInt8], to url: URL) throws {
        precondition(indices.count == height * width, "writePalettePNG: \(indices.count) indices for \(height)x\(width)")
        precondition(palette.count % 3 == 0 && (3...768).contains(palette.count),
                     "writePalettePNG: the palette needs 1...256 RGB entries, got \(palette.count) bytes")
        let entries = palette.count / 3
        precondition(indices.allSatisfy { Int($0) < entries }, "writePalettePNG: an index exceeds the \(entries) palette entries")
        try writeSimplePNG(indices, width: width, height: height, format: PNGFormat.color | PNGFormat.colormap,
                           colormap: (palette, entries), to: url)
    }

    /// Writes a baseline JPEG (4:4:4, no chroma subsampling). `shape` is `[C, H, W]` with C = 1
    /// (gray) or 3 (RGB); `quality` is 1...100.
    public static func writeJPEG(pixels: [UInt8], shape: [Int], quality: Int = 95, to url: URL) throws {
        precondition((1...100).contains(quality), "writeJPEG: quality must be in 1...100, got \(quality)")
        let name = url.path
        let (c, h, w) = try checkShape(pixels, shape, channels: [1, 3], name: name)
        guard let handle = tjInitCompress() else {
            throw DatasetError(file: name, location: "encoder", message: "cannot create a TurboJPEG compressor")
        }
        defer { tjDestroy(handle) }
        let interleaved = interleave(pixels, channels: c, height: h, width: w)
        var jpeg: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        defer { if let jpeg { tjFree(jpeg) } }
        let format = c == 1 ? TJPF_GRAY : TJPF_RGB
        let subsampling = c == 1 ? TJSAMP_GRAY : TJSAMP_444
        let status = interleaved.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, Int32(w), 0, Int32(h), Int32(format.rawValue), &jpeg, &size,
                        Int32(subsampling.rawValue), Int32(quality), TJFLAG_ACCURATEDCT)
        }
        guard status == 0, let jpeg else {
            throw DatasetError(file: name, location: "encoder", message: "JPEG compression failed: \(jpegError(handle))")
        }
        try writeFile(Data(bytes: jpeg, count: Int(size)), to: url)
    }

    // MARK: - Resizing

    /// Resizes CHW bytes of `shape` `[C, H, W]` to `size` with bilinear interpolation (pixel
    /// centres aligned, like PIL, TensorFlow 2 and OpenCV); when shrinking, the triangle filter is
    /// widened by the shrink factor so that every input pixel contributes (antialiasing, like
    /// PIL's `resize(..., BILINEAR)`).
    public static func resize(_ pixels: [UInt8], shape: [Int], to size: (height: Int, width: Int)) -> [UInt8] {
        precondition(shape.count == 3 && pixels.count == shape.reduce(1, *), "resize: \(pixels.count) bytes for shape \(shape)")
        precondition(size.height > 0 && size.width > 0, "resize: target size \(size) must be positive")
        let (c, h, w) = (shape[0], shape[1], shape[2])
        if (h, w) == (size.height, size.width) { return pixels }
        precondition(h > 0 && w > 0, "resize: cannot resize an empty image")
        let horizontal = ResampleWeights(input: w, output: size.width)
        let vertical = ResampleWeights(input: h, output: size.height)
        var out = [UInt8](repeating: 0, count: c * size.height * size.width)
        var row = [Float](repeating: 0, count: h * size.width)
        for channel in 0..<c {
            let plane = channel * h * w
            // Horizontal pass into `row` ([h, size.width]), then the vertical pass.
            for y in 0..<h {
                for x in 0..<size.width {
                    var sum: Float = 0
                    let start = horizontal.starts[x]
                    for k in 0..<horizontal.counts[x] {
                        sum += horizontal.weights[x * horizontal.stride + k] * Float(pixels[plane + y * w + start + k])
                    }
                    row[y * size.width + x] = sum
                }
            }
            let outPlane = channel * size.height * size.width
            for y in 0..<size.height {
                let start = vertical.starts[y]
                for x in 0..<size.width {
                    var sum: Float = 0
                    for k in 0..<vertical.counts[y] {
                        sum += vertical.weights[y * vertical.stride + k] * row[(start + k) * size.width + x]
                    }
                    out[outPlane + y * size.width + x] = UInt8(max(0, min(255, sum.rounded())))
                }
            }
        }
        return out
    }

    /// The PASCAL VOC colour map (256 RGB entries, 768 bytes): class `k` of the 21 classes gets
    /// the VOC devkit's colour, 255 (border) is (224, 224, 192).
    public static let pascalVOCPalette: [UInt8] = (0..<256).flatMap { index -> [UInt8] in
        var (r, g, b) = (0, 0, 0)
        var k = index
        for shift in stride(from: 7, through: 0, by: -1) {
            r |= (k & 1) << shift
            g |= ((k >> 1) & 1) << shift
            b |= ((k >> 2) & 1) << shift
            k >>= 3
        }
        return [UInt8(r), UInt8(g), UInt8(b)]
    }

    // MARK: - PNG internals

    /// libpng's `PNG_FORMAT_FLAG_*` values (macros built from other macros do not import).
    enum PNGFormat {
        static let gray: UInt32 = 0
        static let alpha: UInt32 = 0x01
        static let color: UInt32 = 0x02
        static let linear: UInt32 = 0x04
        static let colormap: UInt32 = 0x08
    }

    /// `PNG_IMAGE_FLAG_16BIT_sRGB`: 16-bit files without colour-space chunks are sRGB, not linear.
    static let pngFlag16BitSRGB: UInt32 = 0x04

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    private static func decodePNG(_ data: Data, name: String, channels: Int) throws -> (pixels: [UInt8], shape: [Int]) {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> (pixels: [UInt8], shape: [Int]) in
            let reader = try PNGReader(bytes, name: name)
            let (width, height) = (reader.width, reader.height)
            // Read with alpha (if any) and drop it afterwards: libpng keeps the colour values of
            // 8-bit output unassociated, so this equals discarding the alpha channel.
            let hasAlpha = reader.image.pointee.format & PNGFormat.alpha != 0
            let stored = channels + (hasAlpha ? 1 : 0)
            reader.image.pointee.format = (channels == 3 ? PNGFormat.color : PNGFormat.gray) | (hasAlpha ? PNGFormat.alpha : 0)
            reader.image.pointee.flags |= pngFlag16BitSRGB
            var interleaved = [UInt8](repeating: 0, count: width * height * stored)
            try reader.finish(into: &interleaved, colormap: nil)
            return (planar(interleaved, stored: stored, keep: channels, height: height, width: width),
                    [channels, height, width])
        }
    }

    /// A `png_image` being read. libpng keeps the structure's address (its error handler
    /// writes the message into it), so it lives at a fixed heap address from
    /// `png_image_begin_read_from_memory` to `png_image_finish_read`. `bytes` must stay valid
    /// until ``finish(into:colormap:)``.
    private final class PNGReader {
        let image: UnsafeMutablePointer<png_image>
        let name: String

        init(_ bytes: UnsafeRawBufferPointer, name: String) throws {
            self.name = name
            image = .allocate(capacity: 1)
            image.initialize(to: png_image())
            image.pointee.version = UInt32(PNG_IMAGE_VERSION)
            guard png_image_begin_read_from_memory(image, bytes.baseAddress, bytes.count) != 0 else {
                throw DatasetError(file: name, location: "PNG header",
                                   message: "cannot read the PNG header: \(pngMessage(image.pointee))")
            }
            let (w, h) = (image.pointee.width, image.pointee.height)
            guard w > 0, h > 0, Int(w) * Int(h) <= maximumPixels else {
                throw DatasetError(file: name, location: "IHDR", message: "image size \(w)x\(h) out of range")
            }
        }

        var width: Int { Int(image.pointee.width) }
        var height: Int { Int(image.pointee.height) }

        /// `png_image_finish_read` into `buffer` (which must be large enough for the format set).
        func finish(into buffer: inout [UInt8], colormap: UnsafeMutableRawPointer?) throws {
            let ok = buffer.withUnsafeMutableBytes { png_image_finish_read(image, nil, $0.baseAddress, 0, colormap) }
            guard ok != 0 else {
                throw DatasetError(file: name, location: "PNG image data",
                                   message: "cannot decode the PNG (corrupt or truncated file): \(pngMessage(image.pointee))")
            }
        }

        deinit {
            png_image_free(image)  // a no-op once libpng has cleaned up
            image.deinitialize(count: 1)
            image.deallocate()
        }
    }

    private static func writeSimplePNG(_ buffer: [UInt8], width: Int, height: Int, format: UInt32,
                                       colormap: (bytes: [UInt8], entries: Int)?, to url: URL) throws {
        precondition(width > 0 && height > 0, "writePNG: empty image \(height)x\(width)")
        let image = UnsafeMutablePointer<png_image>.allocate(capacity: 1)
        defer { image.deallocate() }
        /// Encodes into `memory` (or only measures, when nil); each call is a complete write.
        func encode(_ memory: UnsafeMutableRawPointer?, _ size: inout Int) -> Int32 {
            image.initialize(to: png_image())
            image.pointee.version = UInt32(PNG_IMAGE_VERSION)
            image.pointee.width = UInt32(width)
            image.pointee.height = UInt32(height)
            image.pointee.format = format
            image.pointee.colormap_entries = UInt32(colormap?.entries ?? 0)
            return buffer.withUnsafeBytes { pixels in
                (colormap?.bytes ?? []).withUnsafeBytes { map in
                    png_image_write_to_memory(image, memory, &size, 0, pixels.baseAddress, 0,
                                              colormap == nil ? nil : map.baseAddress)
                }
            }
        }
        var size = 0
        guard encode(nil, &size) != 0 else {
            throw DatasetError(file: url.path, location: "encoder", message: "PNG encoding failed: \(pngMessage(image.pointee))")
        }
        var data = Data(count: size)
        let ok = data.withUnsafeMutableBytes { encode($0.baseAddress, &size) }
        guard ok != 0 else {
            throw DatasetError(file: url.path, location: "encoder", message: "PNG encoding failed: \(pngMessage(image.pointee))")
        }
        try writeFile(data.prefix(size), to: url)
    }

    private static func pngMessage(_ image: png_image) -> String {
        var message = image.message
        let text = withUnsafeBytes(of: &message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "unknown libpng error" : text
    }

    private static func describe(format: UInt32) -> String {
        var parts = [format & PNGFormat.color != 0 ? "colour" : "grayscale"]
        if format & PNGFormat.alpha != 0 { parts.append("with alpha") }
        if format & PNGFormat.linear != 0 { parts.append("16-bit") }
        return parts.joined(separator: " ")
    }

    // MARK: - JPEG internals

    private static func decodeJPEG(_ data: Data, name: String, channels: Int) throws -> (pixels: [UInt8], shape: [Int]) {
        guard let handle = tjInitDecompress() else {
            throw DatasetError(file: name, location: "decoder", message: "cannot create a TurboJPEG decompressor")
        }
        defer { tjDestroy(handle) }
        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> (pixels: [UInt8], shape: [Int]) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
            guard tjDecompressHeader3(handle, bytes.baseAddress, UInt(bytes.count), &width, &height,
                                      &subsampling, &colorspace) == 0 else {
                throw DatasetError(file: name, location: "JPEG header",
                                   message: "cannot read the JPEG header: \(jpegError(handle))")
            }
            let (w, h) = (Int(width), Int(height))
            guard w > 0, h > 0, w * h <= maximumPixels else {
                throw DatasetError(file: name, location: "JPEG header", message: "image size \(w)x\(h) out of range")
            }
            var interleaved = [UInt8](repeating: 0, count: w * h * channels)
            let format = channels == 3 ? TJPF_RGB : TJPF_GRAY
            let status = interleaved.withUnsafeMutableBufferPointer {
                tjDecompress2(handle, bytes.baseAddress, UInt(bytes.count), $0.baseAddress, width, 0, height,
                              Int32(format.rawValue), TJFLAG_ACCURATEDCT)
            }
            // Warnings (e.g. "Premature end of JPEG file") also fail: the image would be corrupt.
            guard status == 0 else {
                throw DatasetError(file: name, location: "JPEG image data",
                                   message: "cannot decode the JPEG (corrupt or truncated file): \(jpegError(handle))")
            }
            return (planar(interleaved, stored: channels, keep: channels, height: h, width: w), [channels, h, w])
        }
    }

    private static func jpegError(_ handle: tjhandle) -> String {
        guard let message = tjGetErrorStr2(handle) else { return "unknown TurboJPEG error" }
        return String(cString: message)
    }

    // MARK: - Helpers

    private static func readFile(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw DatasetError(file: url.path, location: "file", message: "cannot read: \(error.localizedDescription)")
        }
    }

    private static func writeFile(_ data: Data, to url: URL) throws {
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw DatasetError(file: url.path, location: "file", message: "cannot write: \(error.localizedDescription)")
        }
    }

    private static func checkShape(_ pixels: [UInt8], _ shape: [Int], channels: Set<Int>, name: String) throws -> (Int, Int, Int) {
        precondition(shape.count == 3 && channels.contains(shape[0]) && shape[1] > 0 && shape[2] > 0,
                     "ImageCodec: shape \(shape) must be [C, H, W] with C in \(channels.sorted())")
        precondition(pixels.count == shape.reduce(1, *), "ImageCodec: \(pixels.count) bytes for shape \(shape)")
        return (shape[0], shape[1], shape[2])
    }

    /// HWC (interleaved, `stored` channels) → CHW keeping the first `keep` channels.
    private static func planar(_ hwc: [UInt8], stored: Int, keep: Int, height: Int, width: Int) -> [UInt8] {
        if stored == 1 { return hwc }
        let plane = height * width
        var out = [UInt8](repeating: 0, count: keep * plane)
        hwc.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<plane {
                    for c in 0..<keep { dst[c * plane + i] = src[i * stored + c] }
                }
            }
        }
        return out
    }

    /// CHW → HWC.
    private static func interleave(_ chw: [UInt8], channels: Int, height: Int, width: Int) -> [UInt8] {
        if channels == 1 { return chw }
        let plane = height * width
        var out = [UInt8](repeating: 0, count: chw.count)
        chw.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<plane {
                    for c in 0..<channels { dst[i * channels + c] = src[c * plane + i] }
                }
            }
        }
        return out
    }

    private static func hex(_ bytes: Data) -> String {
        bytes.isEmpty ? "(none)" : bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
    }
}

/// Triangle-filter weights for resampling one axis (PIL's `precompute_coeffs` for BILINEAR).
private struct ResampleWeights {
    var starts: [Int]
    var counts: [Int]
    var stride: Int
    var weights: [Float]

    init(input: Int, output: Int) {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = filterScale  // the triangle's support is 1, widened when shrinking
        stride = Int(support.rounded(.up)) * 2 + 1
        starts = [Int](repeating: 0, count: output)
        counts = [Int](repeating: 0, count: output)
        weights = [Float](repeating: 0, count: output * stride)
        for i in 0..<output {
            let center = (Double(i) + 0.5) * scale
            let lo = max(0, Int(center - support + 0.5))
            let hi = min(input, Int(center + support + 0.5))
            var row = [Double]()
            for j in lo..<max(lo, hi) {
                let t = abs((Double(j) - center + 0.5) / filterScale)
                row.append(max(0, 1 - t))
            }
            let total = row.reduce(0, +)
            starts[i] = lo
            counts[i] = min(row.count, stride)
            for k in 0..<counts[i] {
                weights[i * stride + k] = Float(total > 0 ? row[k] / total : (k == 0 ? 1 : 0))
            }
        }
    }
}
