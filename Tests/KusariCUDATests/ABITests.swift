import Testing
@testable import KusariCUDA

/// The layouts Kusari shares with C: kernel parameters and cuDNN's result structs.
struct ABITests {
    @Test func layoutsArePaddedToRankSix() {
        let layout = KernelLayout(shape: [4, 3], stridesA: [3, 1], stridesB: [0, 1])
        #expect(layout.sizes == [1, 1, 1, 1, 4, 3])
        #expect(layout.stridesA == [0, 0, 0, 0, 3, 1] && layout.stridesB == [0, 0, 0, 0, 0, 1])
        guard case .int64s(let fields) = layout.argument else {
            Issue.record("a layout is passed as its 18 long long fields")
            return
        }
        #expect(fields == layout.sizes + layout.stridesA + layout.stridesB)
        #expect(KernelLayout(shape: [], stridesA: [], stridesB: []).sizes == [1, 1, 1, 1, 1, 1])
    }

    @Test func parametersPointAtTheValuesAsTheKernelDeclaresThem() {
        let arguments: [KernelArgument] = [.pointer(0xdead_beef_0000), .null, .int32(-7), .count(1 << 40),
                                           .uint64(.max), .float(0.25), .int64s([1, 2, 3])]
        KernelArgument.withParameterArray(arguments) { parameters in
            #expect(parameters[0]!.load(as: UInt64.self) == 0xdead_beef_0000)
            #expect(parameters[1]!.load(as: UInt64.self) == 0)
            #expect(parameters[2]!.load(as: Int32.self) == -7)
            #expect(parameters[3]!.load(as: Int64.self) == 1 << 40)
            #expect(parameters[4]!.load(as: UInt64.self) == .max)
            #expect(parameters[5]!.load(as: Float.self) == 0.25)
            let fields = UnsafeRawBufferPointer(start: parameters[6], count: 24).bindMemory(to: Int64.self)
            #expect(Array(fields) == [1, 2, 3])
            #expect(parameters[7] == nil)
            for index in 0..<7 { #expect(Int(bitPattern: parameters[index]) % 16 == 0) }
        }
    }

    @Test func cudnnPerformanceEntriesHaveTheCLayout() {
        // cudnnConvolutionFwdAlgoPerf_t: int algo, int status, float time, size_t memory,
        // int determinism, int mathType, int reserved[3]: 48 bytes with size_t at offset 16.
        #expect(MemoryLayout<CUDNNAlgorithmPerformance>.stride == 48)
        #expect(MemoryLayout<CUDNNAlgorithmPerformance>.offset(of: \.time) == 8)
        #expect(MemoryLayout<CUDNNAlgorithmPerformance>.offset(of: \.memory) == 16)
        #expect(MemoryLayout<CUDNNAlgorithmPerformance>.offset(of: \.determinism) == 24)
        #expect(MemoryLayout<CUDNNAlgorithmPerformance>.offset(of: \.mathType) == 28)
    }
}
