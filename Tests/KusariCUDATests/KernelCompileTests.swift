import Foundation
import Testing
@testable import KusariCUDA

/// NVRTC for a test, or `nil` after printing why the test is skipped. When the environment sets
/// `KUSARI_REQUIRE_NVRTC` (as `make test` does once it has installed the NVRTC wheel), a missing
/// NVRTC fails the test instead.
func nvrtcOrSkip(_ test: String) -> NVRTC? {
    do {
        return try NVRTC.load()
    } catch {
        let required = ProcessInfo.processInfo.environment["KUSARI_REQUIRE_NVRTC"].map { !$0.isEmpty && $0 != "0" } ?? false
        if required {
            Issue.record("KUSARI_REQUIRE_NVRTC is set but NVRTC could not be loaded: \(error)")
        } else {
            print("skipped: NVRTC not found (\(error)); \(test) did not run")
        }
        return nil
    }
}

/// The `.entry` names in PTX text.
func ptxEntries(_ ptx: String) -> [String] {
    ptx.split(separator: "\n").compactMap { line in
        guard let range = line.range(of: ".entry ") else { return nil }
        return String(line[range.upperBound...].prefix { $0 != "(" && $0 != " " })
    }
}

struct KernelCompileTests {
    /// PTX for Ampere and Hopper, and a Hopper cubin.
    static let targets: [KernelTarget] = [.ptx(80), .ptx(90), .cubin(90)]

    @Test(arguments: KernelSource.all.map(\.name))
    func everyKernelSourceCompiles(_ name: String) throws {
        let source = try #require(KernelSource.all.first { $0.name == name })
        guard let nvrtc = nvrtcOrSkip("compiling \(name).cu") else { return }
        for target in Self.targets {
            let library = try KernelLibrary(nvrtc: nvrtc, target: target, cacheDirectory: nil)
            let binary = try library.compile(source)
            switch target.format {
            case .ptx:
                // Exactly the kernels the Swift side lists, under their extern "C" names.
                #expect(Set(ptxEntries(binary.ptx)) == Set(source.functions), "\(name) for \(target)")
                #expect(binary.data.last == 0, "PTX must be NUL-terminated for cuModuleLoadData")
            case .cubin:
                #expect(Array(binary.data.prefix(4)) == [0x7f, 0x45, 0x4c, 0x46], "\(name) cubin is not ELF")
            }
        }
        print("PASSED: \(name).cu (\(source.functions.count) kernels) compiled for "
              + Self.targets.map(\.description).joined(separator: ", "))
    }

    @Test func sourcesAreSelfContainedAndNamesUnique() {
        var seen = Set<String>()
        for source in KernelSource.all {
            #expect(!source.code.contains("#include"), "\(source.name) includes a header")
            for function in source.functions {
                #expect(function.hasPrefix("kusari_"))
                #expect(seen.insert(function).inserted, "\(function) is defined twice")
            }
        }
        #expect(Set(KernelSource.all.map(\.name)).count == KernelSource.all.count, "two sources share a name")
    }

    @Test func compiledKernelsAreCachedOnDisk() throws {
        guard let nvrtc = nvrtcOrSkip("the kernel disk cache test") else { return }
        let tree = try TemporaryTree()
        let directory = tree.root.appendingPathComponent("kernels")
        let library = try KernelLibrary(nvrtc: nvrtc, target: .ptx(80), cacheDirectory: directory)
        let compiled = try library.compile(.optimizer)
        let file = directory.appendingPathComponent(library.cacheKey(for: .optimizer) + ".ptx")
        #expect(try Data(contentsOf: file) == compiled.data)
        #expect(library.cacheKey(for: .optimizer).count == 64)

        // A second library (a later run) takes the file instead of compiling.
        try Data("cached".utf8).write(to: file)
        let later = try KernelLibrary(nvrtc: nvrtc, target: .ptx(80), cacheDirectory: directory)
        #expect(try later.compile(.optimizer).data == Data("cached".utf8))
        // Another target or source is another entry.
        let hopper = try KernelLibrary(nvrtc: nvrtc, target: .ptx(90), cacheDirectory: directory)
        #expect(hopper.cacheKey(for: .optimizer) != library.cacheKey(for: .optimizer))
        #expect(library.cacheKey(for: .random) != library.cacheKey(for: .optimizer))
    }

    @Test func aBrokenKernelReportsNVRTCsLog() throws {
        guard let nvrtc = nvrtcOrSkip("the compile error test") else { return }
        let broken = KernelSource(name: "broken", body: "extern \"C\" __global__ void k(float* y) { y[0] = missing; }\n",
                                  functions: ["k"])
        let library = try KernelLibrary(nvrtc: nvrtc, target: .ptx(80), cacheDirectory: nil)
        #expect { _ = try library.compile(broken) } throws: { error in
            let text = String(describing: error)
            return text.hasPrefix("NVRTC could not compile broken.cu with --gpu-architecture=compute_80")
                && text.contains("NVRTC_ERROR_COMPILATION") && text.contains("\"missing\" is undefined")
        }
        #expect(nvrtc.errorString(6) == "NVRTC_ERROR_COMPILATION")
        let version = try nvrtc.version()
        #expect(version.major >= 12)
    }
}
