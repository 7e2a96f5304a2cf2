import Foundation
import KusariData
import Testing

// MARK: - Fixtures

/// A fresh temporary directory, removed by the caller.
private func imageTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kusari-images-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}


/// A minimal PNG encoder written independently of libpng (stored deflate blocks), so that the
/// reader is tested on every colour type and bit depth, including ones libpng's simplified
/// writer cannot produce (16-bit without gamma information, low bit depths, tRNS).
private enum RawPNG {
    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
    }

    /// zlib stream of stored (uncompressed) deflate blocks.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return out + bigEndian(b << 16 | a)
    }

    /// A PNG of `rows` (each row's samples, already packed to bytes), colour type and depth.
    static func encode(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, rows: [[UInt8]],
                       palette: [UInt8]? = nil, transparency: [UInt8]? = nil) -> [UInt8] {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [bitDepth, colorType, 0, 0, 0])
        if let palette { png += chunk("PLTE", palette) }
        if let transparency { png += chunk("tRNS", transparency) }
        png += chunk("IDAT", zlibStored(rows.flatMap { [0] + $0 }))
        png += chunk("IEND", [])
        return png
    }

    /// Packs samples of `depth` < 8 bits, most significant first.
    static func pack(_ samples: [UInt8], depth: Int) -> [UInt8] {
        let perByte = 8 / depth
        return stride(from: 0, to: samples.count, by: perByte).map { start in
            var byte: UInt8 = 0
            for k in 0..<perByte where start + k < samples.count {
                byte |= samples[start + k] << UInt8(8 - depth * (k + 1))
            }
            return byte
        }
    }
}

/// A 3-channel CHW test image whose values encode their coordinates.
private func codedImage(height: Int, width: Int, seed: Int = 0) -> [UInt8] {
    var pixels = [UInt8](repeating: 0, count: 3 * height * width)
    for c in 0..<3 {
        for y in 0..<height {
            for x in 0..<width { pixels[(c * height + y) * width + x] = UInt8((seed * 31 + c * 85 + y * 7 + x * 3) & 255) }
        }
    }
    return pixels
}

/// A smooth CHW image (JPEG reproduces it closely).
private func smoothImage(height: Int, width: Int) -> [UInt8] {
    var pixels = [UInt8](repeating: 0, count: 3 * height * width)
    for c in 0..<3 {
        for y in 0..<height {
            for x in 0..<width {
                pixels[(c * height + y) * width + x] = UInt8(30 + c * 40 + (y * 60) / height + (x * 80) / width)
            }
        }
    }
    return pixels
}

private func maxDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
    zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
}

// MARK: - Codec

struct ImageCodecTests {
    @Test func pngRoundTripsForEveryChannelCount() throws {
        let directory = try imageTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (h, w) = (5, 7)
        let rgb = codedImage(height: h, width: w)
        let url = directory.appendingPathComponent("image.png")

        try ImageCodec.writePNG(pixels: rgb, shape: [3, h, w], to: url)
        let read = try ImageCodec.readImage(url)
        #expect(read.shape == [3, h, w])
        #expect(read.pixels == rgb)

        // RGBA: alpha is dropped, colours kept exactly.
        let alpha = (0..<(h * w)).map { UInt8($0 * 9 % 256) }
        try ImageCodec.writePNG(pixels: rgb + alpha, shape: [4, h, w], to: url)
        #expect(try ImageCodec.readImage(url).pixels == rgb)

        // Gray: replicated to RGB, or read as one channel.
        let gray = Array(rgb[0..<(h * w)])
        try ImageCodec.writePNG(pixels: gray, shape: [1, h, w], to: url)
        #expect(try ImageCodec.readImage(url).pixels == gray + gray + gray)
        let single = try ImageCodec.readImage(url, channels: 1)
        #expect(single.shape == [1, h, w] && single.pixels == gray)

        try ImageCodec.writePNG(pixels: gray + alpha, shape: [2, h, w], to: url)
        #expect(try ImageCodec.readImage(url).pixels == gray + gray + gray)
    }

    @Test func pngColourTypesAndBitDepthsConvertToRGB() throws {
        let directory = try imageTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("raw.png")
        let (h, w) = (3, 4)
        let gray: [UInt8] = (0..<(h * w)).map { UInt8($0 * 21) }
        let rgb = codedImage(height: h, width: w, seed: 2)
        let plane = h * w
        func rgbRow(_ y: Int, alpha: Bool = false) -> [UInt8] {
            (0..<w).flatMap { x -> [UInt8] in
                let i = y * w + x
                return [rgb[i], rgb[plane + i], rgb[2 * plane + i]] + (alpha ? [UInt8(255 - i * 20)] : [])
            }
        }
        func check(_ png: [UInt8], expect expected: [UInt8], _ comment: Comment) throws {
            try Data(png).write(to: url)
            let read = try ImageCodec.readImage(url)
            #expect(read.shape == [3, h, w], comment)
            #expect(read.pixels == expected, comment)
        }
        let grayRGB = gray + gray + gray

        // 8-bit gray, gray+alpha, RGB, RGBA.
        try check(RawPNG.encode(width: w, height: h, bitDepth: 8, colorType: 0,
                                rows: (0..<h).map { Array(gray[($0 * w)..<($0 * w + w)]) }), expect: grayRGB, "gray 8")
        try check(RawPNG.encode(width: w, height: h, bitDepth: 8, colorType: 4,
                                rows: (0..<h).map { y in (0..<w).flatMap { [gray[y * w + $0], UInt8(17 * $0)] } }),
                  expect: grayRGB, "gray+alpha 8")
        try check(RawPNG.encode(width: w, height: h, bitDepth: 8, colorType: 2, rows: (0..<h).map { rgbRow($0) }),
                  expect: rgb, "RGB 8")
        try check(RawPNG.encode(width: w, height: h, bitDepth: 8, colorType: 6, rows: (0..<h).map { rgbRow($0, alpha: true) }),
                  expect: rgb, "RGBA 8")

        // 16-bit: v * 257 reads back as v.
        try check(RawPNG.encode(width: w, height: h, bitDepth: 16, colorType: 0,
                                rows: (0..<h).map { y in (0..<w).flatMap { [gray[y * w + $0], gray[y * w + $0]] } }),
                  expect: grayRGB, "gray 16")
        try check(RawPNG.encode(width: w, height: h, bitDepth: 16, colorType: 2,
                                rows: (0..<h).map { rgbRow($0).flatMap { [$0, $0] } }), expect: rgb, "RGB 16")
        try check(RawPNG.encode(width: w, height: h, bitDepth: 16, colorType: 6,
                                rows: (0..<h).map { rgbRow($0, alpha: true).flatMap { [$0, $0] } }), expect: rgb, "RGBA 16")

        // 1-bit gray: 0 → 0, 1 → 255.
        let bits: [UInt8] = (0..<(h * w)).map { UInt8($0 % 3 == 0 ? 1 : 0) }
        try check(RawPNG.encode(width: w, height: h, bitDepth: 1, colorType: 0,
                                rows: (0..<h).map { RawPNG.pack(Array(bits[($0 * w)..<($0 * w + w)]), depth: 1) }),
                  expect: Array(repeating: bits.map { $0 * 255 }, count: 3).flatMap { $0 }, "gray 1")

        // Palette (4-bit and 8-bit, with transparency): the palette's colours.
        let palette: [UInt8] = [10, 20, 30, 200, 100, 0, 0, 255, 128, 77, 77, 77]
        let indices: [UInt8] = (0..<(h * w)).map { UInt8(($0 * 5) % 4) }
        let expected = (0..<3).flatMap { c in indices.map { palette[Int($0) * 3 + c] } }
        try check(RawPNG.encode(width: w, height: h, bitDepth: 8, colorType: 3,
                                rows: (0..<h).map { Array(indices[($0 * w)..<($0 * w + w)]) }, palette: palette,
                                transparency: [255, 0, 128]), expect: expected, "palette 8 + tRNS")
        try check(RawPNG.encode(width: w, height: h, bitDepth: 4, colorType: 3,
                                rows: (0..<h).map { RawPNG.pack(Array(indices[($0 * w)..<($0 * w + w)]), depth: 4) },
                                palette: palette), expect: expected, "palette 4")
    }

    @Test func palettePNGGivesRawIndices() throws {
        let directory = try imageTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("label.png")
        let (h, w) = (6, 9)
        // VOC-style: classes 0...20 and 255 on borders.
        var labels = (0..<(h * w)).map { UInt8($0 % 21) }
        for x in 0..<w { labels[x] = 255 }
        for y in 0..<h { labels[y * w + w - 1] = 255 }
        try ImageCodec.writePalettePNG(indices: labels, height: h, width: w, palette: ImageCodec.pascalVOCPalette, to: url)
        let read = try ImageCodec.readPalettePNG(url)
        #expect(read.height == h && read.width == w)
        #expect(read.indices == labels)
        // Decoded as an image, the indices become the VOC colours (255 → 224, 224, 192).
        let image = try ImageCodec.readImage(url)
        #expect([image.pixels[0], image.pixels[h * w], image.pixels[2 * h * w]] == [224, 224, 192])
        #expect(Array(ImageCodec.pascalVOCPalette[3..<9]) == [128, 0, 0, 0, 128, 0])

        // A palette file written independently of libpng, with a short palette and tRNS.
        let small: [UInt8] = (0..<(h * w)).map { UInt8($0 % 3) }
        try Data(RawPNG.encode(width: w, height: h, bitDepth: 8, colorType: 3,
                               rows: (0..<h).map { Array(small[($0 * w)..<($0 * w + w)]) },
                               palette: [0, 0, 0, 9, 9, 9, 250, 1, 2], transparency: [0, 255, 100])).write(to: url)
        #expect(try ImageCodec.readPalettePNG(url).indices == small)

        // 8-bit gray label images give their values; colour images are refused.
        try ImageCodec.writePNG(pixels: labels, shape: [1, h, w], to: url)
        #expect(try ImageCodec.readPalettePNG(url).indices == labels)
        try ImageCodec.writePNG(pixels: codedImage(height: h, width: w), shape: [3, h, w], to: url)
        let error = caughtDatasetError { _ = try ImageCodec.readPalettePNG(url) }
        #expect(error?.file == url.path)
        #expect(error?.message.contains("palette") == true)
    }

    @Test func jpegRoundTripsWithinTolerance() throws {
        let directory = try imageTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("photo.jpg")
        let (h, w) = (16, 24)
        let image = smoothImage(height: h, width: w)
        try ImageCodec.writeJPEG(pixels: image, shape: [3, h, w], quality: 100, to: url)
        let read = try ImageCodec.readImage(url)
        #expect(read.shape == [3, h, w])
        #expect(maxDifference(read.pixels, image) <= 3)

        let gray = Array(image[0..<(h * w)])
        try ImageCodec.writeJPEG(pixels: gray, shape: [1, h, w], quality: 95, to: url)
        let grayRead = try ImageCodec.readImage(url)
        #expect(maxDifference(grayRead.pixels, gray + gray + gray) <= 3)
        #expect(try ImageCodec.readImage(url, channels: 1).shape == [1, h, w])
    }

    @Test func corruptFilesGiveErrorsNamingTheFile() throws {
        let directory = try imageTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (h, w) = (20, 20)
        let image = smoothImage(height: h, width: w)
        let png = directory.appendingPathComponent("a.png")
        let jpeg = directory.appendingPathComponent("b.jpg")
        try ImageCodec.writePNG(pixels: image, shape: [3, h, w], to: png)
        try ImageCodec.writeJPEG(pixels: image, shape: [3, h, w], to: jpeg)
        let pngBytes = try Data(contentsOf: png)
        let jpegBytes = try Data(contentsOf: jpeg)

        var cases: [(String, Data)] = [
            ("empty", Data()),
            ("text", Data("hello, world".utf8)),
            ("png signature only", pngBytes.prefix(8)),
            ("png truncated header", pngBytes.prefix(20)),
            ("png truncated data", pngBytes.prefix(pngBytes.count / 2)),
            ("jpeg truncated header", jpegBytes.prefix(30)),
            ("jpeg truncated data", jpegBytes.prefix(jpegBytes.count * 2 / 3)),
        ]
        var flipped = pngBytes
        flipped[pngBytes.count - 20] ^= 0xFF  // inside IDAT: bad CRC / bad deflate data
        cases.append(("png flipped byte", flipped))

        for (label, bytes) in cases {
            let url = directory.appendingPathComponent("corrupt-\(label.replacingOccurrences(of: " ", with: "-")).png")
            try bytes.write(to: url)
            let error = caughtDatasetError { _ = try ImageCodec.readImage(url) }
            #expect(error?.file == url.path, "\(label)")
            #expect(error.map { !$0.message.isEmpty } == true, "\(label)")
        }
        let missing = caughtDatasetError { _ = try ImageCodec.readImage(directory.appendingPathComponent("missing.png")) }
        #expect(missing?.file.hasSuffix("missing.png") == true)
    }

    @Test func bilinearResize() {
        // Enlarging 1x2 → 1x4: pixel centres aligned (half-pixel offsets), edges clamped.
        #expect(ImageCodec.resize([0, 100], shape: [1, 1, 2], to: (1, 4)) == [0, 25, 75, 100])
        // Shrinking 1x4 → 1x2 uses a widened triangle filter (PIL's antialiased bilinear):
        // weights 0.75, 0.75, 0.25 over pixels 0, 1, 2 normalised by 1.75.
        #expect(ImageCodec.resize([0, 40, 80, 120], shape: [1, 1, 4], to: (1, 2)) == [29, 91])
        // Constant images stay constant; channels are independent.
        let constant = [UInt8](repeating: 7, count: 15) + [UInt8](repeating: 200, count: 15)
        #expect(ImageCodec.resize(constant, shape: [2, 3, 5], to: (4, 2)) == [UInt8](repeating: 7, count: 8) + [UInt8](repeating: 200, count: 8))
        // Same size: unchanged.
        let coded = codedImage(height: 4, width: 3)
        #expect(ImageCodec.resize(coded, shape: [3, 4, 3], to: (4, 3)) == coded)
        // Separable in 2-D: a 2x2 → 4x4 enlargement of [[0, 80], [160, 240]].
        let big = ImageCodec.resize([0, 80, 160, 240], shape: [1, 2, 2], to: (4, 4))
        #expect(big[0] == 0 && big[15] == 240)
        #expect(Array(big[4..<8]) == [40, 60, 100, 120])
    }
}

// MARK: - Image folders

struct ImageFolderTests {
    @Test func loadsOneClassPerSortedSubfolder() throws {
        let root = try imageTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let (h, w) = (8, 6)
        let manager = FileManager.default
        for name in ["dog", "ant", "cat"] {
            try manager.createDirectory(at: root.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        // ant: two PNGs; cat: a JPEG and a PNG (upper-case extension); dog: one PNG.
        let a1 = codedImage(height: h, width: w, seed: 1), a2 = codedImage(height: h, width: w, seed: 2)
        let c1 = smoothImage(height: h, width: w), c2 = codedImage(height: h, width: w, seed: 3)
        let d1 = codedImage(height: h, width: w, seed: 4)
        try ImageCodec.writePNG(pixels: a2, shape: [3, h, w], to: root.appendingPathComponent("ant/b.png"))
        try ImageCodec.writePNG(pixels: a1, shape: [3, h, w], to: root.appendingPathComponent("ant/a.png"))
        try ImageCodec.writeJPEG(pixels: c1, shape: [3, h, w], quality: 100, to: root.appendingPathComponent("cat/1.jpeg"))
        try ImageCodec.writePNG(pixels: c2, shape: [3, h, w], to: root.appendingPathComponent("cat/2.PNG"))
        try ImageCodec.writePNG(pixels: d1 + [UInt8](repeating: 9, count: h * w), shape: [4, h, w],
                                to: root.appendingPathComponent("dog/x.png"))
        // Ignored: hidden files and folders, other extensions, loose files at the top.
        try Data("notes".utf8).write(to: root.appendingPathComponent("cat/readme.txt"))
        try Data("junk".utf8).write(to: root.appendingPathComponent("cat/.DS_Store"))
        try Data("junk".utf8).write(to: root.appendingPathComponent("labels.csv"))
        try manager.createDirectory(at: root.appendingPathComponent(".cache"), withIntermediateDirectories: true)

        let data = try ImageFolder.load(directory: root)
        #expect(data.classNames == ["ant", "cat", "dog"])
        #expect(data.labels == [0, 0, 1, 1, 2])
        #expect(data.imageShape == [3, h, w])
        let size = 3 * h * w
        func image(_ i: Int) -> [UInt8] { Array(data.images[(i * size)..<((i + 1) * size)]) }
        #expect(image(0) == a1 && image(1) == a2)
        #expect(maxDifference(image(2), c1) <= 3)
        #expect(image(3) == c2 && image(4) == d1)
    }

    @Test func sizesMustAgreeUnlessASizeIsGiven() throws {
        let root = try imageTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        for name in ["a", "b"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        try ImageCodec.writePNG(pixels: [UInt8](repeating: 50, count: 3 * 4 * 4), shape: [3, 4, 4],
                                to: root.appendingPathComponent("a/1.png"))
        let odd = root.appendingPathComponent("b/odd.jpg")
        try ImageCodec.writeJPEG(pixels: [UInt8](repeating: 120, count: 3 * 6 * 10), shape: [3, 6, 10], quality: 100, to: odd)

        let error = caughtDatasetError { _ = try ImageFolder.load(directory: root) }
        #expect(error?.file == odd.path)
        #expect(error?.message.contains("6x10") == true)

        let resized = try ImageFolder.load(directory: root, size: (height: 5, width: 3))
        #expect(resized.imageShape == [3, 5, 3] && resized.count == 2)
        #expect(resized.images[0..<45].allSatisfy { $0 == 50 })
        #expect(resized.images[45...].allSatisfy { abs(Int($0) - 120) <= 2 })
    }

    @Test func corruptImagesAndBadLayoutsGiveErrors() throws {
        let root = try imageTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let manager = FileManager.default

        #expect(caughtDatasetError { _ = try ImageFolder.load(directory: root.appendingPathComponent("nope")) } != nil)
        let noClasses = caughtDatasetError { _ = try ImageFolder.load(directory: root) }
        #expect(noClasses?.file == root.path)

        try manager.createDirectory(at: root.appendingPathComponent("good"), withIntermediateDirectories: true)
        try manager.createDirectory(at: root.appendingPathComponent("empty"), withIntermediateDirectories: true)
        let pixels = codedImage(height: 4, width: 4)
        try ImageCodec.writePNG(pixels: pixels, shape: [3, 4, 4], to: root.appendingPathComponent("good/1.png"))
        let empty = caughtDatasetError { _ = try ImageFolder.load(directory: root) }
        #expect(empty?.file == root.appendingPathComponent("empty").path)

        try manager.removeItem(at: root.appendingPathComponent("empty"))
        let bad = root.appendingPathComponent("good/2.png")
        let bytes = try Data(contentsOf: root.appendingPathComponent("good/1.png"))
        try bytes.prefix(bytes.count - 30).write(to: bad)
        let corrupt = caughtDatasetError { _ = try ImageFolder.load(directory: root) }
        #expect(corrupt?.file == bad.path)
    }
}
