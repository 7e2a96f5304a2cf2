import Kusari
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

    @Test func reducedPrecisionTypesHaveTheHeadersValues() {
        // cudnnDataType_t (cudnn_graph.h), cudaDataType (library_types.h), cublasComputeType_t.
        #expect(CUDNN.DataType(.float32)?.rawValue == 0)
        #expect(CUDNN.DataType(.float16)?.rawValue == 2)
        #expect(CUDNN.DataType(.bfloat16)?.rawValue == 9)
        #expect(CUBLAS.DataType(.float32)?.rawValue == 0)
        #expect(CUBLAS.DataType(.float16)?.rawValue == 2)
        #expect(CUBLAS.DataType(.bfloat16)?.rawValue == 14)
        for integer in [DType.int32, .int64, .uint8] {
            #expect(CUDNN.DataType(integer) == nil && CUBLAS.DataType(integer) == nil)
        }
        #expect(CUBLAS.ComputeType.float32.rawValue == 68 && CUBLAS.defaultAlgorithm == -1)
        #expect(CUDNN.MathType.tensorOp.rawValue == 1 && CUDNN.MathType.fma.rawValue == 3)
    }

    @Test func sixteenBitFillPatternsRoundToNearestEven() {
        #expect(CUDABackend.bfloat16Bits(1) == 0x3f80)
        #expect(CUDABackend.bfloat16Bits(Float(bitPattern: 0x3f80_8000)) == 0x3f80)  // tie, even below
        #expect(CUDABackend.bfloat16Bits(Float(bitPattern: 0x3f81_8000)) == 0x3f82)  // tie, even above
        #expect(CUDABackend.bfloat16Bits(Float(bitPattern: 0x3f80_8001)) == 0x3f81)
        #expect(CUDABackend.bfloat16Bits(-.infinity) == 0xff80)
        #expect(CUDABackend.bfloat16Bits(.greatestFiniteMagnitude) == 0x7f80)  // rounds up to infinity
        #expect(CUDABackend.bfloat16Bits(.nan) & 0x7fc0 == 0x7fc0)
        #expect(CUDABackend.bfloat16Bits(Float(bitPattern: 0x7f80_0001)) == 0x7fc0)  // signalling NaN stays NaN
    }
}
