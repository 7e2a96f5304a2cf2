import Foundation
import Testing
@testable import KusariCUDA

/// A temporary folder tree, removed when the test ends.
final class TemporaryTree {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("kusari-cuda-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    /// Creates `path` (relative to the root) as a folder and returns its absolute path.
    @discardableResult
    func folder(_ path: String) throws -> String {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Writes `contents` to `path`, creating its folder, and returns the absolute path.
    @discardableResult
    func file(_ path: String, contents: String = "") throws -> String {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
        return url.path
    }
}

struct LibraryDiscoveryTests {
    @Test func findsTheLibFoldersOfPipWheels() throws {
        let tree = try TemporaryTree()
        let site = try tree.folder("venv/lib/python3.11/site-packages")
        let nvrtc = try tree.folder("venv/lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib")
        let cudnn = try tree.folder("venv/lib/python3.11/site-packages/nvidia/cudnn/lib")
        try tree.folder("venv/lib/python3.11/site-packages/nvidia/cuda_nvrtc/include")
        let home = try tree.folder("home")

        let explicit = LibraryLocator.searchDirectories(environment: ["KUSARI_PYTHON_SITE": site], home: home)
        #expect(explicit.contains(nvrtc) && explicit.contains(cudnn))
        #expect(!explicit.contains { $0.hasSuffix("/include") })
        // The same wheels found through an activated virtual environment, or ~/.local.
        let venv = LibraryLocator.searchDirectories(environment: ["VIRTUAL_ENV": tree.root.path + "/venv"], home: home)
        #expect(venv.contains(nvrtc) && venv.contains(cudnn))
        let userNVRTC = try tree.folder("home/.local/lib/python3.12/site-packages/nvidia/cuda_nvrtc/lib")
        #expect(LibraryLocator.searchDirectories(environment: [:], home: home).contains(userNVRTC))
    }

    @Test func searchesInTheDocumentedOrder() throws {
        let tree = try TemporaryTree()
        let toolkit = try tree.folder("cuda-12.4")
        let toolkitLib = try tree.folder("cuda-12.4/lib64")
        let ldPath = try tree.folder("ld")
        let site = try tree.folder("site")
        let wheel = try tree.folder("site/nvidia/cublas/lib")
        let environment = ["KUSARI_CUDA_PATH": toolkit, "LD_LIBRARY_PATH": ldPath + ":" + tree.root.path + "/missing",
                           "KUSARI_PYTHON_SITE": site]
        let directories = LibraryLocator.searchDirectories(environment: environment, home: try tree.folder("home"))
        let position = { (path: String) in try #require(directories.firstIndex(of: path)) }
        #expect(try position(toolkit) < position(toolkitLib))
        #expect(try position(toolkitLib) < position(ldPath))
        #expect(try position(ldPath) < position(wheel))
        #expect(!directories.contains(tree.root.path + "/missing"))        // only existing folders
        for standard in LibraryLocator.standardDirectories where directories.contains(standard) {
            #expect(try position(ldPath) < position(standard) && position(standard) < position(wheel))
        }
        #expect(Set(directories).count == directories.count)
    }

    @Test func aFileThatIsNotALibraryGivesAClearReason() throws {
        let tree = try TemporaryTree()
        let lib = try tree.folder("site/nvidia/cuda_nvrtc/lib")
        let fake = try tree.file("site/nvidia/cuda_nvrtc/lib/libnvrtc.so.12", contents: "not an ELF file")
        let probe = LibraryLocator.locate(.nvrtc, in: [lib], useLinkerDefaults: false)
        #expect(probe.loaded == nil)
        #expect(probe.attempts.map(\.path) == [fake])
        #expect(probe.summary.hasPrefix("not usable: could not load \(fake): "))
        #expect(probe.summary.contains("libnvrtc.so.12"))

        // An empty file, as a half-finished download would leave.
        try tree.file("site/nvidia/cuda_nvrtc/lib/libnvrtc.so.12", contents: "")
        #expect(LibraryLocator.locate(.nvrtc, in: [lib], useLinkerDefaults: false).summary.contains("could not load"))
    }

    @Test func aMissingLibrarySaysWhatWasSearched() throws {
        let tree = try TemporaryTree()
        let empty = try tree.folder("empty")
        let probe = LibraryLocator.locate(.cudnn, in: [empty], useLinkerDefaults: false)
        #expect(probe.loaded == nil && probe.attempts.isEmpty)
        #expect(probe.summary == "not found (libcudnn.so.9 in \(empty), and the dynamic linker's default paths)")
        let many = (0..<6).map { "/nowhere/\($0)" }
        #expect(LibraryLocator.locate(.nccl, in: many, useLinkerDefaults: false).summary
                == "not found (libnccl.so.2 in /nowhere/0, /nowhere/1, /nowhere/2, /nowhere/3 and 2 more, "
                + "and the dynamic linker's default paths)")
        #expect(CUDAError.libraryNotFound(.cudnn, detail: probe.summary).description.hasPrefix("libcudnn not found"))
    }

    @Test func resolvesFunctionsAndReportsMissingOnes() throws {
        let libc = try DynamicLibrary(path: "libc.so.6")
        typealias Length = @convention(c) (UnsafePointer<CChar>?) -> Int
        let length: Length = try libc.function("strlen")
        #expect(length("kusari") == 6)
        #expect(throws: CUDAError.missingSymbol(library: "libc.so.6", symbol: "cuNoSuchFunction")) {
            let _: Length = try libc.function("cuNoSuchFunction")
        }
        #expect { _ = try DynamicLibrary(path: "/nonexistent/libcuda.so.1") } throws: {
            String(describing: $0).hasPrefix("could not load /nonexistent/libcuda.so.1: ")
        }
    }

    @Test func theEnvironmentReportNeverFails() {
        // Whatever this machine has (typically no driver and maybe a pip NVRTC), the report lists
        // every library and either the GPUs or why there are none.
        let environment = CUDAEnvironment.probe()
        let lines = environment.lines
        print(lines.joined(separator: "\n"))
        #expect(environment.libraries.map(\.library) == CUDALibrary.allCases)
        for library in CUDALibrary.allCases {
            #expect(lines.contains { $0.hasPrefix("  \(library): ") })
        }
        #expect(environment.hasGPU ? lines[0].hasPrefix("cuda:0: ") : lines[0].hasPrefix("cuda: no GPU ("))
    }
}
