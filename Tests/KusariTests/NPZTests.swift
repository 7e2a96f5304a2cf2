import Foundation
import Testing
@testable import Kusari

// Tests for the .npy / .npz codec. Fixtures under Fixtures/ were written by real NumPy
// (see Fixtures/make_npz_fixtures.py; the expected values below mirror that script).

// MARK: - Helpers

/// The fixture file `Fixtures/name.ext`. Zip archives are kept as base64 text
/// (`name.npz.base64`, the exact bytes NumPy wrote) and decoded into a temporary file here.
private func npzFixtureURL(_ name: String, _ ext: String) throws -> URL {
    guard ext == "npz" else {
        return try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"),
                            "missing fixture Fixtures/\(name).\(ext)")
    }
    let encoded = try #require(Bundle.module.url(forResource: name, withExtension: "npz.base64", subdirectory: "Fixtures"),
                               "missing fixture Fixtures/\(name).npz.base64")
    let bytes = try #require(Data(base64Encoded: try String(contentsOf: encoded, encoding: .utf8),
                                  options: .ignoreUnknownCharacters), "Fixtures/\(name).npz.base64 is not base64")
    // One decoded copy per test process, written atomically (tests run in parallel).
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("kusari-npz-fixtures-\(ProcessInfo.processInfo.processIdentifier)", isDirectory: true)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let url = folder.appendingPathComponent(name + ".npz")
    if !FileManager.default.fileExists(atPath: url.path) { try bytes.write(to: url, options: .atomic) }
    return url
}

private func npzFixtureBytes(_ name: String, _ ext: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: try npzFixtureURL(name, ext)))
}

/// Runs `body` with a fresh empty directory that is removed afterwards.
private func withNPZTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("kusari-npz-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

private func npzDirectoryContents(_ directory: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
}

/// Expects `body` to throw a `SerializationError` naming `file` (and of `kind`, when given).
@discardableResult
private func expectSerializationError(
    _ kind: SerializationError.Kind?, file: String,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> SerializationError? {
    do {
        try body()
        Issue.record("expected a SerializationError for \(file), but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as SerializationError {
        #expect(error.file == file, "\(error)", sourceLocation: sourceLocation)
        #expect(error.description.hasPrefix("\(file): "), "\(error)", sourceLocation: sourceLocation)
        if let kind { #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation) }
        return error
    } catch {
        Issue.record("expected a SerializationError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// Deterministic sample data of every dtype.
private func npzSample(_ dtype: NPYDType, shape: [Int]) -> NPYArray {
    let n = shape.reduce(1, *)
    switch dtype {
    case .float32: return NPYArray(floats: (0..<n).map { Float($0) * 0.5 - 3 }, shape: shape)
    case .float64: return NPYArray(doubles: (0..<n).map { Double($0) / 3 - 1e10 }, shape: shape)
    case .int32: return NPYArray(int32s: (0..<n).map { Int32.max - 100 - 7 * Int32($0) }, shape: shape)
    case .int64: return NPYArray(int64s: (0..<n).map { (Int64($0) << 40) - 5 }, shape: shape)
    case .uint8: return NPYArray(uint8s: (0..<n).map { UInt8(truncatingIfNeeded: $0 * 37) }, shape: shape)
    case .bool: return NPYArray(bools: (0..<n).map { $0 % 3 == 0 }, shape: shape)
    case .float16: return NPYArray(float16s: (0..<n).map { Float16($0) * 0.25 - 2 }, shape: shape)
    }
}

/// A .npy image with an arbitrary header dict, padded the way NumPy pads it.
private func makeNPY(header: String, data: [UInt8], major: UInt8 = 1) -> [UInt8] {
    let lengthSize = major == 1 ? 2 : 4
    var text = Array(header.utf8)
    let unpadded = 6 + 2 + lengthSize + text.count + 1
    text += [UInt8](repeating: 0x20, count: (64 - unpadded % 64) % 64) + [0x0A]
    var out = NPY.magic + [major, 0]
    for index in 0..<lengthSize { out.append(UInt8(truncatingIfNeeded: text.count >> (8 * index))) }
    return out + text + data
}

private func npzCRC32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
}

private func npzReadLE(_ bytes: [UInt8], _ offset: Int, _ size: Int) -> Int {
    (0..<size).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
}

private func npzWriteLE(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
    for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(index))) }
}

/// Rewrites the data of the first (stored) member of a zip in place, keeping its length, and fixes its CRCs.
private func patchFirstStoredMember(_ zip: inout [UInt8], _ transform: (inout [UInt8]) -> Void) {
    let central = npzReadLE(zip, zip.count - 22 + 16, 4)
    let size = npzReadLE(zip, central + 20, 4)
    let local = npzReadLE(zip, central + 42, 4)
    let start = local + 30 + npzReadLE(zip, local + 26, 2) + npzReadLE(zip, local + 28, 2)
    var member = Array(zip[start..<start + size])
    transform(&member)
    precondition(member.count == size, "patched member must keep its length")
    zip.replaceSubrange(start..<start + size, with: member)
    npzWriteLE(&zip, central + 16, npzCRC32(member))
    npzWriteLE(&zip, local + 14, npzCRC32(member))
}

/// Replaces the first occurrence of `find` (same length as `replacement`) in `bytes`.
private func npzReplaceFirst(_ find: String, with replacement: String, in bytes: inout [UInt8]) {
    let needle = Array(find.utf8), new = Array(replacement.utf8)
    precondition(needle.count == new.count)
    for start in 0...(bytes.count - needle.count) where Array(bytes[start..<start + needle.count]) == needle {
        bytes.replaceSubrange(start..<start + needle.count, with: new)
        return
    }
    preconditionFailure("'\(find)' not found")
}

/// The arrays stored in Fixtures/savez.npz and savez_compressed.npz, in order.
private let npzNumpyMembers: [(name: String, array: NPYArray)] = [
    ("weights", NPYArray(floats: [-1, -0.5, 0, 0.5, 1, 1.5], shape: [2, 3])),
    ("step", NPYArray(int64s: [7], shape: [])),
    ("labels", NPYArray(int32s: [3, -1, 2], shape: [3])),
    ("mask", NPYArray(bools: [true, false, true], shape: [3])),
    ("pixels", NPYArray(uint8s: [0, 255, 17, 128], shape: [2, 2])),
    ("scale", NPYArray(doubles: [1.5, -2.25], shape: [2])),
    ("empty", NPYArray(floats: [], shape: [0])),
]

// MARK: - NPYArray

@Suite("NPYArray")
struct NPYArrayCodecTests {
    @Test func elementCountsAndByteSizes() {
        #expect(NPYArray(floats: [2], shape: []).count == 1)
        #expect(NPYArray(floats: [], shape: [0]).count == 0)
        #expect(NPYArray(floats: [], shape: [4, 0, 2]).count == 0)
        #expect(npzSample(.int64, shape: [2, 3, 4]).count == 24)
        #expect(NPYDType.allCases.map(\.byteSize) == [4, 8, 4, 8, 1, 1, 2])
        #expect(NPYDType.allCases.map(\.rawValue) == ["<f4", "<f8", "<i4", "<i8", "|u1", "|b1", "<f2"])
    }

    @Test func bytesAreLittleEndian() {
        #expect(NPYArray(floats: [1], shape: [1]).bytes == [0, 0, 0x80, 0x3F])
        #expect(NPYArray(int32s: [0x0102_0304], shape: [1]).bytes == [4, 3, 2, 1])
        #expect(NPYArray(int64s: [-2], shape: []).bytes == [0xFE] + [UInt8](repeating: 0xFF, count: 7))
        #expect(NPYArray(bools: [true, false], shape: [2]).bytes == [1, 0])
        #expect(NPYArray(float16s: [1, -2], shape: [2]).bytes == [0x00, 0x3C, 0x00, 0xC0])
    }

    @Test func conversions() {
        #expect(NPYArray(doubles: [1.5, -2], shape: [2]).floats == [1.5, -2])
        #expect(NPYArray(int64s: [3, -4], shape: [2]).floats == [3, -4])
        #expect(NPYArray(int32s: [7], shape: []).floats == [7])
        #expect(NPYArray(uint8s: [255], shape: [1]).floats == [255])
        #expect(NPYArray(bools: [true, false], shape: [2]).floats == [1, 0])
        #expect(NPYArray(floats: [0.25], shape: [1]).doubles == [0.25])
        #expect(NPYArray(floats: [1], shape: [1]).int64s == nil)
        #expect(NPYArray(float16s: [1.5, -0.25], shape: [2]).floats == [1.5, -0.25])
        #expect(NPYArray(float16s: [65504], shape: []).doubles == [65504])
        #expect(NPYArray(float16s: [2], shape: [1]).int64s == nil)
        #expect(NPYArray(int32s: [-5, 6], shape: [2]).int64s == [-5, 6])
        #expect(NPYArray(int64s: [1, -1], shape: [2]).int32s == [1, -1])
        #expect(NPYArray(int64s: [1 << 40], shape: [1]).int32s == nil)
    }
}

// MARK: - .npy

@Suite("NPY format")
struct NPYFormatTests {
    @Test(arguments: NPYDType.allCases, [[], [0], [3], [2, 3, 4]] as [[Int]])
    func roundTrip(dtype: NPYDType, shape: [Int]) throws {
        let array = npzSample(dtype, shape: shape)
        let encoded = try NPY.encode(array)
        #expect(try NPY.decode(encoded) == array)
        try withNPZTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("a.npy")
            try NPY.write(array, to: url)
            #expect(try NPY.read(from: url) == array)
            #expect([UInt8](try Data(contentsOf: url)) == encoded)
        }
    }

    @Test(arguments: [[], [0], [3], [2, 3, 4]] as [[Int]])
    func headerLayoutMatchesNumPy(shape: [Int]) throws {
        let array = npzSample(.uint8, shape: shape)
        let bytes = try NPY.encode(array)
        #expect(Array(bytes[0..<6]) == [0x93] + Array("NUMPY".utf8))
        #expect(bytes[6] == 1 && bytes[7] == 0)
        let headerLength = npzReadLE(bytes, 8, 2)
        #expect((10 + headerLength) % 64 == 0)
        #expect(bytes[10 + headerLength - 1] == 0x0A)
        let header = String(decoding: bytes[10..<10 + headerLength], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '|u1', 'fortran_order': False, 'shape': \(NPY.shapeLiteral(shape)), }"))
        #expect(header.dropLast().allSatisfy { $0 != "\n" })
        #expect(bytes.count == 10 + headerLength + array.bytes.count)
    }

    @Test func shapeLiterals() {
        #expect(NPY.shapeLiteral([]) == "()")
        #expect(NPY.shapeLiteral([3]) == "(3,)")
        #expect(NPY.shapeLiteral([2, 3, 4]) == "(2, 3, 4)")
    }

    /// Our encoding is byte-for-byte what numpy.save wrote.
    @Test(arguments: ["float32_2x3", "float64", "int64", "scalar0d"])
    func encodingMatchesNumPyBytes(fixture: String) throws {
        let bytes = try npzFixtureBytes(fixture, "npy")
        #expect(try NPY.encode(try NPY.decode(bytes)) == bytes)
    }

    @Test func headerNeedingMoreThan64KiBUsesVersion2() throws {
        let array = NPYArray(floats: [4.5], shape: [Int](repeating: 1, count: 30_000))
        let bytes = try NPY.encode(array)
        #expect(bytes[6] == 2 && bytes[7] == 0)
        #expect((12 + npzReadLE(bytes, 8, 4)) % 64 == 0)
        #expect(try NPY.decode(bytes) == array)
    }

    @Test func readsNumPyFloat64AndInt64() throws {
        let doubles = try NPY.read(from: try npzFixtureURL("float64", "npy"))
        #expect(doubles.dtype == .float64 && doubles.shape == [3])
        #expect(doubles.doubles == [0.1, -2.5, 1e300])
        let ints = try NPY.read(from: try npzFixtureURL("int64", "npy"))
        #expect(ints.dtype == .int64 && ints.shape == [2, 3])
        #expect(ints.int64s == [-(1 << 62), -1, 0, 1, 1 << 40, Int64.max])
    }

    @Test func readsNumPyFloat16() throws {
        let halves = try NPY.read(from: try npzFixtureURL("float16", "npy"))
        #expect(halves.dtype == .float16 && halves.shape == [2, 3])
        #expect(halves.floats == [1, -2.5, 65504, 0x1p-24, Float(Float16(0.1)), -.infinity])
        let swapped = try NPY.read(from: try npzFixtureURL("bigendian_f2", "npy"))
        #expect(swapped == NPYArray(float16s: [0.5, -3, 1024], shape: [3]))
    }

    @Test func readsNumPyScalar() throws {
        let scalar = try NPY.read(from: try npzFixtureURL("scalar0d", "npy"))
        #expect(scalar == NPYArray(floats: [3.5], shape: []))
    }

    @Test func readsBigEndianBySwapping() throws {
        let floats = try NPY.read(from: try npzFixtureURL("bigendian_f4", "npy"))
        #expect(floats == NPYArray(floats: [0, 0.25, 0.5, 0.75, 1, 1.25], shape: [2, 3]))
        let ints = try NPY.read(from: try npzFixtureURL("bigendian_i8", "npy"))
        #expect(ints == NPYArray(int64s: [1, -2, 1 << 40], shape: [3]))
    }

    @Test func readsFortranOrderIntoCOrder() throws {
        let array = try NPY.read(from: try npzFixtureURL("fortran", "npy"))
        #expect(array == NPYArray(int32s: (0..<24).map(Int32.init), shape: [2, 3, 4]))
    }

    @Test(arguments: ["version2", "version3"])
    func readsFormatVersions2And3(fixture: String) throws {
        #expect(try NPY.read(from: try npzFixtureURL(fixture, "npy")) == NPYArray(floats: [1, 2], shape: [2]))
    }

    @Test func toleratesHeaderVariants() throws {
        let data = NPYArray(int32s: [1, 2], shape: [2]).bytes
        let variants = [
            #"{"shape": (2,), "fortran_order": False, "descr": "<i4"}"#,   // other key order, double quotes
            "{'descr':'<i4','fortran_order':False,'shape':(2L,)}",           // Python 2 long, no spaces
            "{'descr': '=i4', 'fortran_order': False, 'shape': [2]}",        // native order, list shape
        ]
        for header in variants {
            #expect(try NPY.decode(makeNPY(header: header, data: data)) == NPYArray(int32s: [1, 2], shape: [2]), "\(header)")
        }
        let bytes = makeNPY(header: "{'descr': '<u1', 'fortran_order': True, 'shape': (2, 2), }", data: [1, 2, 3, 4])
        #expect(try NPY.decode(bytes) == NPYArray(uint8s: [1, 3, 2, 4], shape: [2, 2]))
    }
}

// MARK: - .npz

@Suite("NPZ archive")
struct NPZArchiveTests {
    @Test(arguments: [false, true])
    func roundTripKeepsOrder(compressed: Bool) throws {
        var arrays: [(name: String, array: NPYArray)] = []
        for (index, dtype) in NPYDType.allCases.enumerated() {
            for shape in [[], [0], [3], [2, 3, 4]] as [[Int]] {
                arrays.append(("z\(9 - index)_\(dtype)_s\(shape.map(String.init).joined(separator: "x"))/x", npzSample(dtype, shape: shape)))
            }
        }
        arrays.append(("big", NPYArray(floats: [Float](repeating: 0.5, count: 300_000), shape: [300, 1000])))
        try withNPZTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.npz")
            try NPZ.write(arrays, to: url, compressed: compressed)
            let ordered = try NPZ.readOrdered(from: url)
            #expect(ordered.map(\.name) == arrays.map(\.name))
            #expect(ordered.map(\.array) == arrays.map(\.array))
            let dictionary = try NPZ.read(from: url)
            #expect(dictionary.count == arrays.count)
            for (name, array) in arrays { #expect(dictionary[name] == array, "\(name)") }
            let size = try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
            #expect(compressed ? size < 100_000 : size > 1_200_000)
        }
    }

    @Test func emptyArchive() throws {
        try withNPZTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("empty.npz")
            try NPZ.write([], to: url)
            #expect(try NPZ.read(from: url).isEmpty)
        }
    }

    @Test(arguments: ["savez", "savez_compressed"])
    func readsNumPyArchives(fixture: String) throws {
        let ordered = try NPZ.readOrdered(from: try npzFixtureURL(fixture, "npz"))
        #expect(ordered.map(\.name) == npzNumpyMembers.map(\.name))
        for ((name, array), (_, expected)) in zip(ordered, npzNumpyMembers) {
            #expect(array == expected, "\(name)")
        }
    }

    @Test func writtenMembersAreNpyFilesNamedWithSuffix() throws {
        try withNPZTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("m.npz")
            let array = NPYArray(floats: [1, 2], shape: [2])
            try NPZ.write([("conv1.W", array)], to: url)
            let zip = [UInt8](try Data(contentsOf: url))
            #expect(Array(zip[0..<4]) == [0x50, 0x4B, 0x03, 0x04])
            let local = 0, nameLength = npzReadLE(zip, 26, 2)
            #expect(String(decoding: zip[local + 30..<local + 30 + nameLength], as: UTF8.self) == "conv1.W.npy")
            let start = local + 30 + nameLength + npzReadLE(zip, 28, 2)
            #expect(Array(zip[start..<start + 128 + 8]) == (try NPY.encode(array)))
        }
    }

    @Test func atomicWriteLeavesNoTemporaryFiles() throws {
        try withNPZTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.npz")
            let first = [(name: "w", array: NPYArray(floats: [1, 2, 3], shape: [3]))]
            try NPZ.write(first, to: url)
            #expect(try npzDirectoryContents(directory) == ["model.npz"])
            let second = [(name: "w", array: NPYArray(floats: [4], shape: [1]))]
            try NPZ.write(second, to: url, compressed: true)
            #expect(try npzDirectoryContents(directory) == ["model.npz"])
            #expect(try NPZ.read(from: url)["w"] == second[0].array)

            // Failing writes leave the previous file intact and no temporary behind.
            var inconsistent = NPYArray(floats: [1, 2], shape: [2])
            inconsistent.shape = [3]
            expectSerializationError(.invalidArray, file: "model.npz") {
                try NPZ.write([("ok", second[0].array), ("bad", inconsistent)], to: url)
            }
            expectSerializationError(.duplicateMember, file: "model.npz") {
                try NPZ.write([("w", second[0].array), ("w", second[0].array)], to: url)
            }
            expectSerializationError(.invalidArray, file: "single.npy") {
                try NPY.write(inconsistent, to: directory.appendingPathComponent("single.npy"))
            }
            #expect(try npzDirectoryContents(directory) == ["model.npz"])
            #expect(try NPZ.read(from: url)["w"] == second[0].array)

            let missing = directory.appendingPathComponent("no-such-dir/model.npz")
            expectSerializationError(.io, file: "model.npz") { try NPZ.write(second, to: missing) }
            #expect(try npzDirectoryContents(directory) == ["model.npz"])
        }
    }
}

// MARK: - Corrupt input

@Suite("Corrupt input")
struct NPZCorruptInputTests {
    /// Writes `bytes` to a file called `name` and runs `body` on its URL.
    private func withFile(_ name: String, _ bytes: [UInt8], _ body: (URL) throws -> Void) throws {
        try withNPZTemporaryDirectory { directory in
            let url = directory.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            try body(url)
        }
    }

    @Test func truncatedNpy() throws {
        let bytes = try npzFixtureBytes("float32_2x3", "npy")
        for length in [0, 3, 6, 7, 9, 10, 40, 127, 128, 129, bytes.count - 1] {
            try withFile("cut.npy", Array(bytes.prefix(length))) { url in
                let error = expectSerializationError(nil, file: "cut.npy") { _ = try NPY.read(from: url) }
                #expect(error?.kind == .truncated || error?.kind == .malformedHeader, "length \(length): \(String(describing: error))")
            }
        }
    }

    @Test(arguments: ["savez", "savez_compressed"])
    func truncatedNpz(fixture: String) throws {
        let bytes = try npzFixtureBytes(fixture, "npz")
        for length in [0, 4, 30, 100, bytes.count / 2, bytes.count - 22, bytes.count - 1] {
            try withFile("cut.npz", Array(bytes.prefix(length))) { url in
                expectSerializationError(nil, file: "cut.npz") { _ = try NPZ.read(from: url) }
            }
        }
    }

    @Test func badMagic() throws {
        var bytes = try npzFixtureBytes("float64", "npy")
        bytes[1] = UInt8(ascii: "X")
        try withFile("magic.npy", bytes) { url in
            let error = expectSerializationError(.badMagic, file: "magic.npy") { _ = try NPY.read(from: url) }
            #expect(error?.location == .byteOffset(0))
        }
    }

    @Test func unsupportedVersion() throws {
        var bytes = try npzFixtureBytes("float64", "npy")
        bytes[6] = 9
        try withFile("v9.npy", bytes) { url in
            let error = expectSerializationError(.unsupportedVersion, file: "v9.npy") { _ = try NPY.read(from: url) }
            #expect(error?.description == "v9.npy: byte offset 6: format version is 9.0, expected 1.0, 2.0 or 3.0")
        }
    }

    @Test func garbageHeader() throws {
        var bytes = try npzFixtureBytes("float64", "npy")
        for index in 10..<60 { bytes[index] = UInt8(ascii: "#") }
        try withFile("garbage.npy", bytes) { url in
            let error = expectSerializationError(.malformedHeader, file: "garbage.npy") { _ = try NPY.read(from: url) }
            #expect(error?.location == .byteOffset(10))
        }
        // Deep nesting is refused, not recursed into.
        let nested = makeNPY(header: String(repeating: "(", count: 5000), data: [])
        expectSerializationError(.malformedHeader, file: "<memory>") { _ = try NPY.decode(nested) }
    }

    @Test func headerLengthBeyondFile() throws {
        var bytes = try npzFixtureBytes("float64", "npy")
        bytes[8] = 0xFF
        bytes[9] = 0xFF
        try withFile("long.npy", bytes) { url in
            let error = expectSerializationError(.truncated, file: "long.npy") { _ = try NPY.read(from: url) }
            #expect(error?.location == .byteOffset(8))
        }
    }

    @Test func dataShorterOrLongerThanShape() throws {
        let bytes = try npzFixtureBytes("float64", "npy")
        try withFile("short.npy", bytes.dropLast(4)) { url in
            let error = expectSerializationError(.truncated, file: "short.npy") { _ = try NPY.read(from: url) }
            #expect(error?.description.contains("holds 20 bytes, expected 24 bytes for shape (3,) of <f8") == true)
        }
        try withFile("long.npy", bytes + [0]) { url in
            expectSerializationError(.trailingData, file: "long.npy") { _ = try NPY.read(from: url) }
        }
        try withFile("half.npy", try npzFixtureBytes("float16", "npy").dropLast(1)) { url in
            let error = expectSerializationError(.truncated, file: "half.npy") { _ = try NPY.read(from: url) }
            #expect(error?.description.contains("holds 11 bytes, expected 12 bytes for shape (2, 3) of <f2") == true)
        }
    }

    @Test func badShapesAndFields() throws {
        let cases: [(String, SerializationError.Kind, String)] = [
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", .invalidShape, "shape"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", .invalidShape, "shape"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': 5, }", .invalidShape, "shape"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,), }", .malformedHeader, ""),
            ("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", .unsupportedDType, "descr"),
            ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", .unsupportedDType, "descr"),
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", .malformedHeader, "fortran_order"),
            ("{'descr': '<f4', 'shape': (2,), }", .malformedHeader, "fortran_order"),
            ("['descr', '<f4']", .malformedHeader, ""),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", .malformedHeader, ""),
        ]
        for (header, kind, field) in cases {
            let bytes = makeNPY(header: header, data: [UInt8](repeating: 0, count: 8))
            let error = expectSerializationError(kind, file: "<memory>") { _ = try NPY.decode(bytes) }
            if !field.isEmpty { #expect(error?.location == .headerField(field), "\(header)") }
        }
        // A huge but valid shape is reported as truncated data, without allocating it.
        let huge = makeNPY(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }", data: [])
        expectSerializationError(.truncated, file: "<memory>") { _ = try NPY.decode(huge) }
    }

    @Test func memberErrorsNameFileMemberAndField() throws {
        try withNPZTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.npz")
            try NPZ.write([("conv1.W", NPYArray(floats: [1, 2], shape: [2]))], to: url)
            let original = [UInt8](try Data(contentsOf: url))

            var dtype = original
            patchFirstStoredMember(&dtype) { npzReplaceFirst("'<f4'", with: "'<c8'", in: &$0) }
            try Data(dtype).write(to: url)
            let error = expectSerializationError(.unsupportedDType, file: "model.npz") { _ = try NPZ.read(from: url) }
            #expect(error?.member == "conv1.W.npy")
            #expect(error?.description.hasPrefix(
                "model.npz: member 'conv1.W.npy': header field 'descr' is '<c8', expected one of <f4, <f8, <f2, <i4, <i8, |u1, |b1") == true)

            var magic = original
            patchFirstStoredMember(&magic) { $0[0] = 0 }
            try Data(magic).write(to: url)
            let magicError = expectSerializationError(.badMagic, file: "model.npz") { _ = try NPZ.read(from: url) }
            #expect(magicError?.description.hasPrefix("model.npz: member 'conv1.W.npy': byte offset 0: expected magic") == true)

            var garbage = original
            patchFirstStoredMember(&garbage) { npzReplaceFirst("'fortran_order'", with: "'fortran_order ", in: &$0) }
            try Data(garbage).write(to: url)
            let garbageError = expectSerializationError(.malformedHeader, file: "model.npz") { _ = try NPZ.read(from: url) }
            #expect(garbageError?.member == "conv1.W.npy")

            var crc = original
            crc[crc.count - 60] ^= 0x01  // inside the member data, CRC left stale
            let dataStart = 30 + npzReadLE(original, 26, 2) + npzReadLE(original, 28, 2)
            #expect(crc.count - 60 > dataStart)
            try Data(crc).write(to: url)
            let crcError = expectSerializationError(.corruptArchive, file: "model.npz") { _ = try NPZ.read(from: url) }
            #expect(crcError?.description.contains("CRC-32") == true)
        }
    }

    @Test func notAZip() throws {
        try withFile("plain.npz", Array("this is just some text, not a zip archive at all".utf8)) { url in
            expectSerializationError(.notAZipArchive, file: "plain.npz") { _ = try NPZ.read(from: url) }
        }
        try withFile("array.npz", try npzFixtureBytes("float64", "npy")) { url in
            let error = expectSerializationError(.notAZipArchive, file: "array.npz") { _ = try NPZ.read(from: url) }
            #expect(error?.description.contains(".npy") == true)
        }
        try withFile("archive.npy", try npzFixtureBytes("savez", "npz")) { url in
            expectSerializationError(.badMagic, file: "archive.npy") { _ = try NPY.read(from: url) }
        }
    }

    @Test func missingFile() throws {
        try withNPZTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("absent.npz")
            expectSerializationError(.io, file: "absent.npz") { _ = try NPZ.read(from: url) }
            expectSerializationError(.io, file: "absent.npz") { _ = try NPY.read(from: url) }
        }
    }

    /// Every truncation and every single-byte corruption either decodes or throws SerializationError.
    @Test(arguments: ["savez", "savez_compressed"])
    func exhaustiveCorruptionNeverCrashes(fixture: String) throws {
        let bytes = try npzFixtureBytes(fixture, "npz")
        func check(_ candidate: [UInt8]) {
            do {
                _ = try NPZ.decode(Data(candidate), fileName: "fuzz.npz")
            } catch let error as SerializationError {
                #expect(error.file == "fuzz.npz")
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        for length in 0..<bytes.count { check(Array(bytes.prefix(length))) }
        for offset in bytes.indices {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var corrupted = bytes
                corrupted[offset] ^= mask
                check(corrupted)
            }
        }
        let npy = try npzFixtureBytes("fortran", "npy")
        for offset in npy.indices {
            var corrupted = npy
            corrupted[offset] ^= 0xFF
            _ = try? NPY.decode(corrupted)
        }
    }
}
