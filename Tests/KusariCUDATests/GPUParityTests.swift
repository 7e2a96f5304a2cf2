import Foundation
import Synchronization
import Testing
@testable import Kusari
@testable import KusariCUDA

/// A GPU context with the project's kernels, shared by the GPU tests.
final class GPU: @unchecked Sendable {
    let context: CUDAContext
    let kernels: KernelLibrary
    /// The context as the core's backend, registered, so tensors move to it and run ops there.
    let backend: CUDABackend

    private init(context: CUDAContext, kernels: KernelLibrary) {
        self.context = context
        self.kernels = kernels
        backend = CUDABackend(context: context, kernels: kernels)
        DeviceBackends.register(backend)
    }

    private static let opened: Result<GPU, Error> = Result {
        let context = try CUDAContext(ordinal: 0)
        let kernels = try KernelLibrary(nvrtc: NVRTC.load(), target: .device(context.device))
        return GPU(context: context, kernels: kernels)
    }

    /// The GPU, or `nil` after printing why `test` is skipped (no driver, no device, no NVRTC;
    /// once per `test`, so the cases of a parameterised test print one line). With
    /// `KUSARI_REQUIRE_GPU` set (`make gpu-test`), a missing GPU fails the test instead.
    static func orSkip(_ test: String) -> GPU? {
        do {
            return try opened.get()
        } catch {
            let required = ProcessInfo.processInfo.environment["KUSARI_REQUIRE_GPU"].map { !$0.isEmpty && $0 != "0" } ?? false
            if required {
                Issue.record("KUSARI_REQUIRE_GPU is set but no GPU is usable: \(error)")
            } else if skipped.withLock({ $0.insert(test).inserted }) {
                print("skipped: no usable GPU (\(error)); \(test) did not run")
            }
            return nil
        }
    }

    /// The tests whose skip has been printed.
    private static let skipped = Mutex<Set<String>>([])

    func kernel(_ name: String, in source: KernelSource) throws -> KernelFunction {
        try kernels.function(name, in: source, context: context)
    }

    func floats(_ buffer: DeviceBuffer, _ count: Int) throws -> [Float] {
        try context.download(buffer, as: Float.self, count: count)
    }
}

/// GPU-vs-CPU checks, run where a GPU, its driver and NVRTC are present (skipped with a message
/// otherwise). The random streams must match the CPU bit for bit.
@Suite(.serialized)
struct GPUParityTests {
    @Test func philoxUniformAndBernoulliMatchTheCPUExactly() throws {
        guard let gpu = GPU.orSkip("the Philox parity test") else { return }
        // Odd counts (a partial last block) and an offset crossing the 2³² block boundary.
        for (count, start) in [(1001, UInt64(77)), (4096 * 3 + 2, UInt64(0xffff_fff0))] {
            let seed: UInt64 = 0x0123_4567_89ab_cdef
            let generator = Generator(seed: seed)
            generator.state = (seed, start)
            let (low, high): (Float, Float) = (-2, 3)
            let uniform = Tensor.uniform([count], low: low, high: high, generator: generator).scalars
            let out = try gpu.context.allocate(Float.self, count: count)
            try gpu.context.launch(try gpu.kernel("kusari_philox_uniform_f32", in: .random), count: (count + 3) / 4,
                                   arguments: [.buffer(out), .count(count), .uint64(seed), .uint64(start),
                                               .float(low), .float(high - low), .float(high.nextDown)])
            #expect(try gpu.floats(out, count) == uniform)

            let blocks = UInt64((count + 3) / 4)
            let bernoulli = Tensor.bernoulli([count], probability: 0.3, value: 1 / 0.7, generator: generator).scalars
            try gpu.context.launch(try gpu.kernel("kusari_philox_bernoulli_f32", in: .random), count: (count + 3) / 4,
                                   arguments: [.buffer(out), .count(count), .uint64(seed), .uint64(start + blocks),
                                               .float(0.3), .float(1 / 0.7)])
            #expect(try gpu.floats(out, count) == bernoulli)
            #expect(generator.state.offset == start + 2 * blocks)
        }
    }

    @Test func philoxIntegersAndNormalsMatchTheCPU() throws {
        guard let gpu = GPU.orSkip("the Philox integer/normal parity test") else { return }
        let seed: UInt64 = 99, count = 5003
        let generator = Generator(seed: seed)
        generator.state = (seed, 1000)
        let integers = Tensor.randint([count], low: -5, high: 1000, generator: generator).toArray(of: Int64.self)
        let out = try gpu.context.allocate(Int64.self, count: count)
        try gpu.context.launch(try gpu.kernel("kusari_philox_randint_i64", in: .random), count: (count + 1) / 2,
                               arguments: [.buffer(out), .count(count), .uint64(seed), .uint64(1000), .int64(-5),
                                           .uint64(1005)])
        #expect(try gpu.context.download(out, as: Int64.self, count: count) == integers)

        let offset = generator.state.offset
        let normals = Tensor.normal([count], mean: 1, std: 3, generator: generator).scalars
        let floats = try gpu.context.allocate(Float.self, count: count)
        try gpu.context.launch(try gpu.kernel("kusari_philox_normal_f32", in: .random), count: (count + 3) / 4,
                               arguments: [.buffer(floats), .count(count), .uint64(seed), .uint64(offset),
                                           .float(1), .float(3)])
        let gpuNormals = try gpu.floats(floats, count)
        // Bit-exact against the correctly rounded formula; within float ulps of glibc's.
        #expect(gpuNormals == normalReference(count: count, seed: seed, offset: offset, mean: 1, std: 3))
        #expect(zip(gpuNormals, normals).allSatisfy { Swift.abs($0 - $1) <= 1e-5 })
    }

    @Test func halfAndBFloat16ConversionsAreExact() throws {
        guard let gpu = GPU.orSkip("the float16/bfloat16 conversion test") else { return }
        let halves = (0...UInt16.max).map { $0 }
        let halfBuffer = try gpu.context.upload(halves)
        let widened = try gpu.context.allocate(Float.self, count: halves.count)
        try gpu.context.launch(try gpu.kernel("kusari_f16_to_f32", in: .conversion), count: halves.count,
                               arguments: [.buffer(halfBuffer), .buffer(widened), .count(halves.count)])
        let expected = halves.map { Float(Float16(bitPattern: $0)) }
        for (got, want) in zip(try gpu.floats(widened, halves.count), expected) {
            #expect(got.bitPattern == want.bitPattern || (got.isNaN && want.isNaN))
        }

        var samples: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, 1e-8, 2.9802322e-08, 5.9604645e-08,
                                6.1035156e-05, 6.097555e-05, .infinity, -.infinity, .greatestFiniteMagnitude,
                                .leastNonzeroMagnitude, 3.3895314e38, 1.0039062, 1.0117188]
        samples += Tensor.normal([20_000], std: 1000, generator: Generator(seed: 3)).scalars
        samples += Tensor.normal([20_000], std: 1e-4, generator: Generator(seed: 4)).scalars
        let input = try gpu.context.upload(samples)
        let narrowed = try gpu.context.allocate(UInt16.self, count: samples.count)
        try gpu.context.launch(try gpu.kernel("kusari_f32_to_f16", in: .conversion), count: samples.count,
                               arguments: [.buffer(input), .buffer(narrowed), .count(samples.count)])
        #expect(try gpu.context.download(narrowed, as: UInt16.self, count: samples.count)
                == samples.map { Float16($0).bitPattern })
        try gpu.context.launch(try gpu.kernel("kusari_f32_to_bf16", in: .conversion), count: samples.count,
                               arguments: [.buffer(input), .buffer(narrowed), .count(samples.count)])
        #expect(try gpu.context.download(narrowed, as: UInt16.self, count: samples.count)
                == samples.map(bfloat16Bits))
    }

    @Test func cublasSgemmMatchesTheCPUMatmul() throws {
        guard let gpu = GPU.orSkip("the cuBLAS sgemm test") else { return }
        let (m, k, n) = (67, 129, 45)
        let a = Tensor.normal([m, k], generator: Generator(seed: 1))
        let b = Tensor.normal([k, n], generator: Generator(seed: 2))
        let expected = a.matmul(b).scalars
        let da = try gpu.context.upload(a.scalars), db = try gpu.context.upload(b.scalars)
        let dc = try gpu.context.allocate(Float.self, count: m * n)
        let handle = try CUBLASHandle(cublas: CUBLAS.load(), stream: gpu.context.stream)
        // Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: swap the operands.
        try handle.sgemm(.none, .none, m: n, n: m, k: k, alpha: 1, a: db.address, lda: n, b: da.address, ldb: k,
                         beta: 0, c: dc.address, ldc: n)
        let result = try gpu.floats(dc, m * n)
        for (got, want) in zip(result, expected) {
            #expect(Swift.abs(got - want) <= 1e-4 * Swift.max(1, Swift.abs(want)))
        }
    }

    @Test func reductionsAndBroadcastingMatchTheCPU() throws {
        guard let gpu = GPU.orSkip("the reduction/broadcast parity test") else { return }
        let (outer, length, inner) = (7, 300, 5)
        let x = Tensor.normal([outer, length, inner], generator: Generator(seed: 8))
        let dx = try gpu.context.upload(x.scalars)
        let y = try gpu.context.allocate(Float.self, count: outer * inner)
        let index = try gpu.context.allocate(Int64.self, count: outer * inner)
        try gpu.context.launch(try gpu.kernel("kusari_sum_axis_f32", in: .reduction), count: outer * inner,
                               arguments: [.buffer(dx), .buffer(y), .count(outer), .count(length), .count(inner), .float(1)])
        #expect(try gpu.floats(y, outer * inner) == x.sum(axis: 1).scalars)
        try gpu.context.launch(try gpu.kernel("kusari_max_axis_f32", in: .reduction), count: outer * inner,
                               arguments: [.buffer(dx), .buffer(y), .buffer(index), .count(outer), .count(length),
                                           .count(inner)])
        #expect(try gpu.floats(y, outer * inner) == x.max(axis: 1).scalars)
        #expect(try gpu.context.download(index, as: Int64.self, count: outer * inner)
                == x.argmax(axis: 1).toArray(of: Int64.self))

        let rows = outer * length, columns = inner
        let flat = x.reshape([rows, columns])
        let wide = Tensor.normal([3, 5000], generator: Generator(seed: 9))
        let dw = try gpu.context.upload(wide.scalars)
        let sums = try gpu.context.allocate(Float.self, count: 3), maxima = try gpu.context.allocate(Float.self, count: 3)
        let rowsKernel = try gpu.kernel("kusari_sum_rows_f32", in: .reduction)
        try gpu.context.launch(rowsKernel, grid: (3, 1, 1), block: (256, 1, 1),
                               arguments: [.buffer(dw), .buffer(sums), .count(3), .count(5000), .float(1.0 / 5000)])
        for (got, want) in zip(try gpu.floats(sums, 3), wide.mean(axis: 1).scalars) {
            #expect(Swift.abs(got - want) <= 1e-5)
        }
        try gpu.context.launch(try gpu.kernel("kusari_max_rows_f32", in: .reduction), grid: (3, 1, 1),
                               block: (128, 1, 1), arguments: [.buffer(dw), .buffer(maxima), .buffer(index),
                                                               .count(3), .count(5000)])
        #expect(try gpu.floats(maxima, 3) == wide.max(axis: 1).scalars)
        #expect(try gpu.context.download(index, as: Int64.self, count: 3) == wide.argmax(axis: 1).toArray(of: Int64.self))

        // [rows, columns] + [1, columns]: b broadcast along rows.
        let bias = Tensor.normal([1, columns], generator: Generator(seed: 10))
        let db = try gpu.context.upload(bias.scalars)
        let sum = try gpu.context.allocate(Float.self, count: rows * columns)
        let layout = KernelLayout(shape: [rows, columns], stridesA: [columns, 1], stridesB: [0, 1])
        try gpu.context.launch(try gpu.kernel("kusari_add_broadcast_f32", in: .elementwise), count: rows * columns,
                               arguments: [.buffer(try gpu.context.upload(flat.scalars)), .buffer(db), .buffer(sum),
                                           .count(rows * columns), layout.argument])
        #expect(try gpu.floats(sum, rows * columns) == (flat + bias).scalars)
    }

    @Test func softmaxCrossEntropyMatchesTheCPU() throws {
        guard let gpu = GPU.orSkip("the cross-entropy parity test") else { return }
        let (rows, classes) = (37, 10)
        let logits = Tensor.normal([rows, classes], std: 3, generator: Generator(seed: 11)).requiringGrad()
        var labels = (0..<rows).map { Int64(($0 * 7) % classes) }
        labels[3] = -1
        labels[20] = -1
        let loss = softmaxCrossEntropy(logits, Tensor(labels, shape: [rows]))
        loss.backward()
        let expectedGradient = try #require(logits.grad).scalars

        let onGPU = try logits.detach().to(device: gpu.backend.device).requiringGrad()
        let gpuLoss = softmaxCrossEntropy(onGPU, try Tensor(labels, shape: [rows]).to(device: gpu.backend.device))
        #expect(Swift.abs(gpuLoss.item() - loss.item()) <= 1e-5)
        gpuLoss.backward()
        for (got, want) in zip(try #require(onGPU.grad).scalars, expectedGradient) {
            #expect(Swift.abs(got - want) <= 1e-6)
        }
    }
}

/// float32 → bfloat16 bits, rounding to nearest even (NaNs quieted).
func bfloat16Bits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x40 }
    return UInt16(truncatingIfNeeded: (bits &+ 0x7fff &+ ((bits >> 16) & 1)) >> 16)
}

/// Tensors moved to the GPU through the core's `to(device:)` come back unchanged.
struct CUDABackendTests {
    @Test func tensorsRoundTripThroughTheGPU() throws {
        guard let gpu = GPU.orSkip("the tensor round trip through CUDABackend") else { return }
        let backend = gpu.backend
        let x = Tensor.normal([3, 1000], generator: Generator(seed: 11))
        let onGPU = try x.transpose().to(device: backend.device)
        #expect(onGPU.device == backend.device && onGPU.shape == [1000, 3])
        let back = try onGPU.to(device: .cpu)
        #expect(back.scalars == x.transpose().contiguous().scalars)
        let before = gpu.context.allocator.statistics.allocatedBytes
        _ = try Tensor.zeros([256]).to(device: backend.device)
        #expect(gpu.context.allocator.statistics.allocatedBytes == before)
    }
}
