import Foundation
@testable import KusariCUDA

/// The project's CUDA kernel sources compiled as C++ for the CPU, so the ``RecordingDriver`` can
/// run them: the same source text NVRTC compiles, behind a small shim that supplies what CUDA
/// provides (`threadIdx`/`blockIdx`, `__syncthreads`, `__shfl_down_sync`, `__shared__`, atomics
/// and the `__fmul_rn`-style intrinsics, with float contraction off so every product and sum
/// rounds as written).
///
/// A launch runs the whole grid, one block after another. Kernels of a source that cooperate
/// within a block (barriers, warp shuffles) get one OS thread per CUDA thread of a block, which
/// goes through every block; the others run their threads one after another. What this cannot show is what only hardware
/// does: timing, memory ordering between blocks, the GPU's own `expf`/`tanhf` rounding.
final class KernelEmulator: @unchecked Sendable {
    /// `(parameters, gridX, gridY, gridZ, blockX, blockY, blockZ)`.
    typealias Launcher = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>, UInt32, UInt32, UInt32,
                                         UInt32, UInt32, UInt32) -> Void

    /// The entry point of each kernel, by name.
    let launchers: [String: Launcher]

    private init(launchers: [String: Launcher]) { self.launchers = launchers }

    /// The emulator every suite uses, built once (see ``build()``).
    static let shared = Result { try build() }

    /// Every kernel source compiled into one shared library with `$CXX`, `clang++` (the Swift
    /// toolchain's) or `g++`, or `nil` (with the reason printed) when none is found. A source
    /// that does not compile throws.
    private static func build() throws -> KernelEmulator? {
        let candidates = [ProcessInfo.processInfo.environment["CXX"], "clang++", "g++"].compactMap { $0 }
        guard let compiler = candidates.first(where: { (try? run($0, ["--version"])) != nil }) else {
            print("skipped: no C++ compiler (\(candidates.joined(separator: ", "))) to build the kernel emulator")
            return nil
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("kusari-kernel-emulator-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var objects: [String] = []
        for source in KernelSource.all {
            let file = directory.appendingPathComponent("\(source.name).cpp")
            try translationUnit(for: source).write(to: file, atomically: true, encoding: .utf8)
            let object = directory.appendingPathComponent("\(source.name).o").path
            try run(compiler, ["-std=c++20", "-O1", "-fPIC", "-ffp-contract=off", "-w", "-c", file.path, "-o", object])
            objects.append(object)
        }
        let library = directory.appendingPathComponent("libkusari_emulated_kernels.so").path
        try run(compiler, ["-shared", "-o", library] + objects + ["-lpthread"])
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            throw CUDAError.libraryLoadFailed(path: library, reason: String(cString: dlerror()))
        }
        var launchers: [String: Launcher] = [:]
        for name in KernelSource.all.flatMap(\.functions) {
            guard let symbol = dlsym(handle, "kusari_emulate_\(name)") else {
                throw CUDAError.missingSymbol(library: library, symbol: "kusari_emulate_\(name)")
            }
            launchers[name] = unsafeBitCast(symbol, to: Launcher.self)
        }
        return KernelEmulator(launchers: launchers)
    }

    /// The C++ file of `source`: the shim, the source in its own namespace, and one
    /// `extern "C" kusari_emulate_<kernel>` entry point per kernel.
    static func translationUnit(for source: KernelSource) -> String {
        let body = source.code.dropFirst(KernelSource.prelude.count)
        let cooperative = ["__syncthreads", "__shfl_down_sync", "block_reduce("].contains { body.contains($0) }
        let space = "kusari_emulated_\(source.name)"
        let entries = source.functions.map { name in
            """
            extern "C" void kusari_emulate_\(name)(void** p, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                                  unsigned by, unsigned bz) {
                kusari_launch(\(space)::\(name), p, {gx, gy, gz}, {bx, by, bz}, \(cooperative));
            }
            """
        }
        return shim + "namespace \(space) {\n" + source.code + "\n}\n" + entries.joined(separator: "\n")
    }

    /// What CUDA C++ provides and the sources use, for the CPU.
    static let shim = #"""
        #include <atomic>
        #include <barrier>
        #include <climits>
        #include <cmath>
        #include <cstring>
        #include <math.h>
        #include <memory>
        #include <thread>
        #include <type_traits>
        #include <utility>
        #include <vector>

        #define __global__
        #define __device__
        #define __forceinline__ inline
        #define __shared__ static
        #define __restrict__ __restrict

        struct kusari_dim3 { unsigned x = 1, y = 1, z = 1; };
        static thread_local kusari_dim3 threadIdx, blockIdx, blockDim, gridDim;

        /* The barriers and warp-shuffle slots of the block being run. */
        struct kusari_block_state {
            std::unique_ptr<std::barrier<>> block;
            std::vector<std::unique_ptr<std::barrier<>>> warps;
            unsigned long long slots[1024];
        };
        static thread_local kusari_block_state* kusari_block = nullptr;

        static inline void __syncthreads() { kusari_block->block->arrive_and_wait(); }

        template <typename T> static inline T __shfl_down_sync(unsigned, T value, unsigned offset) {
            const unsigned t = threadIdx.x, warp = t >> 5;
            unsigned long long bits = 0;
            std::memcpy(&bits, &value, sizeof(T));
            kusari_block->slots[t] = bits;
            kusari_block->warps[warp]->arrive_and_wait();
            T result = value;
            if ((t & 31) + offset < 32 && t + offset < blockDim.x) std::memcpy(&result, &kusari_block->slots[t + offset], sizeof(T));
            kusari_block->warps[warp]->arrive_and_wait();
            return result;
        }

        template <typename T> static inline T atomicAdd(T* address, T value) {
            return std::atomic_ref<T>(*address).fetch_add(value);
        }
        template <typename T> static inline T atomicMin(T* address, T value) {
            std::atomic_ref<T> target(*address);
            T old = target.load();
            while (value < old && !target.compare_exchange_weak(old, value)) {}
            return old;
        }

        /* CUDA's integer min and max (float arguments go to fminf/fmaxf, which the sources call). */
        template <typename A, typename B> static inline std::common_type_t<A, B> min(A a, B b) { return a < b ? a : b; }
        template <typename A, typename B> static inline std::common_type_t<A, B> max(A a, B b) { return a < b ? b : a; }

        template <typename To, typename From> static inline To kusari_bits(From value) {
            To result; std::memcpy(&result, &value, sizeof(To)); return result;
        }
        static inline float __int_as_float(int v) { return kusari_bits<float>(v); }
        static inline float __uint_as_float(unsigned v) { return kusari_bits<float>(v); }
        static inline unsigned __float_as_uint(float v) { return kusari_bits<unsigned>(v); }
        static inline int __float_as_int(float v) { return kusari_bits<int>(v); }
        static inline float __fmul_rn(float a, float b) { return a * b; }
        static inline float __fadd_rn(float a, float b) { return a + b; }
        static inline float __fsub_rn(float a, float b) { return a - b; }
        static inline float __fdiv_rn(float a, float b) { return a / b; }
        static inline float __fsqrt_rn(float a) { return sqrtf(a); }
        static inline float __uint2float_rn(unsigned v) { return (float)v; }
        static inline float __int2float_rn(int v) { return (float)v; }
        static inline double __ll2double_rn(long long v) { return (double)v; }
        static inline float __double2float_rn(double v) { return (float)v; }
        /* PTX cvt.rzi: toward zero, saturating, NaN gives 0. */
        static inline long long __float2ll_rz(float v) {
            if (v != v) return 0;
            if (v >= 9223372036854775807.0f) return LLONG_MAX;
            if (v <= -9223372036854775808.0f) return LLONG_MIN;
            return (long long)v;
        }
        static inline int __float2int_rz(float v) {
            if (v != v) return 0;
            if (v >= 2147483647.0f) return INT_MAX;
            if (v <= -2147483648.0f) return INT_MIN;
            return (int)v;
        }
        static inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
        static inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
            return (unsigned long long)(((unsigned __int128)a * b) >> 64);
        }

        template <typename... A, std::size_t... I>
        static void kusari_invoke(void (*kernel)(A...), void** p, std::index_sequence<I...>) {
            kernel(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(p[I])...);
        }

        /* Sets the calling thread's indices for thread `t` of block `b`. */
        static void kusari_enter(kusari_dim3 grid, kusari_dim3 block, unsigned b, unsigned t) {
            gridDim = grid; blockDim = block;
            blockIdx = {b % grid.x, b / grid.x % grid.y, b / (grid.x * grid.y)};
            threadIdx = {t % block.x, t / block.x % block.y, t / (block.x * block.y)};
        }

        template <typename... A>
        static void kusari_launch(void (*kernel)(A...), void** p, kusari_dim3 grid, kusari_dim3 block, bool cooperative) {
            const unsigned blocks = grid.x * grid.y * grid.z, threads = block.x * block.y * block.z;
            if (!cooperative) {
                for (unsigned b = 0; b < blocks; ++b) {
                    for (unsigned t = 0; t < threads; ++t) {
                        kusari_enter(grid, block, b, t);
                        kusari_invoke(kernel, p, std::index_sequence_for<A...>{});
                    }
                }
                return;
            }
            /* One OS thread per CUDA thread of a block, running the blocks one after another: a
               barrier closes each block, so its __shared__ arrays are free for the next. */
            kusari_block_state state;
            state.block = std::make_unique<std::barrier<>>(threads);
            for (unsigned w = 0; w * 32 < threads; ++w)
                state.warps.push_back(std::make_unique<std::barrier<>>(std::min(32u, threads - w * 32)));
            std::vector<std::thread> workers;
            for (unsigned t = 0; t < threads; ++t) {
                workers.emplace_back([&, t] {
                    kusari_block = &state;
                    for (unsigned b = 0; b < blocks; ++b) {
                        kusari_enter(grid, block, b, t);
                        kusari_invoke(kernel, p, std::index_sequence_for<A...>{});
                        state.block->arrive_and_wait();
                    }
                });
            }
            for (auto& worker : workers) worker.join();
        }

        """#

    /// Runs `tool` with `arguments`; throws with its output when it fails.
    @discardableResult
    private static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CUDAError.compilation(program: arguments.last ?? tool, options: arguments, status: "exit \(process.terminationStatus)",
                                        log: text)
        }
        return text
    }
}
