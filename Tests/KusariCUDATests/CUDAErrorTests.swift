import Testing
@testable import KusariCUDA

struct CUDAErrorTests {
    @Test func callFailuresNameTheCallAndTheLibrarysStatus() {
        let driver = CUDAError.call(library: .driver, function: "cuMemAlloc_v2(4096 bytes)", status: 2,
                                    name: "CUDA_ERROR_OUT_OF_MEMORY: out of memory")
        #expect(driver.description == "cuMemAlloc_v2(4096 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY: out of memory (status 2, libcuda)")
        let cudnn = CUDAError.call(library: .cudnn, function: "cudnnConvolutionForward", status: 2000,
                                   name: "CUDNN_STATUS_BAD_PARAM")
        #expect(cudnn.description == "cudnnConvolutionForward failed: CUDNN_STATUS_BAD_PARAM (status 2000, libcudnn)")
    }

    @Test func cublasStatusesHaveNames() throws {
        let known: [Int32: String] = [
            0: "CUBLAS_STATUS_SUCCESS", 1: "CUBLAS_STATUS_NOT_INITIALIZED", 3: "CUBLAS_STATUS_ALLOC_FAILED",
            7: "CUBLAS_STATUS_INVALID_VALUE", 8: "CUBLAS_STATUS_ARCH_MISMATCH", 11: "CUBLAS_STATUS_MAPPING_ERROR",
            13: "CUBLAS_STATUS_EXECUTION_FAILED", 14: "CUBLAS_STATUS_INTERNAL_ERROR",
            15: "CUBLAS_STATUS_NOT_SUPPORTED", 16: "CUBLAS_STATUS_LICENSE_ERROR",
        ]
        for (status, name) in known {
            #expect(CUBLAS.statusName(status).hasPrefix(name))
        }
        #expect(CUBLAS.statusName(99) == "CUBLAS_STATUS_UNKNOWN(99)")
        let error = CUDAError.call(library: .cublas, function: "cublasSgemm_v2(m: 0, n: 4, k: 4)", status: 7,
                                   name: CUBLAS.statusName(7))
        #expect(error.description.hasPrefix("cublasSgemm_v2(m: 0, n: 4, k: 4) failed: CUBLAS_STATUS_INVALID_VALUE: "))
        #expect(error.description.hasSuffix("(status 7, libcublas)"))
    }

    @Test func loadingAndCompilationErrorsAreReadable() {
        #expect(CUDAError.libraryLoadFailed(path: "/x/libcudnn.so.9", reason: "file too short").description
                == "could not load /x/libcudnn.so.9: file too short")
        #expect(CUDAError.missingSymbol(library: "/x/libcuda.so.1", symbol: "cuMemAlloc_v2").description
                == "/x/libcuda.so.1 has no function cuMemAlloc_v2 (library too old?)")
        let compile = CUDAError.compilation(program: "random.cu", options: ["--gpu-architecture=sm_90"],
                                            status: "NVRTC_ERROR_COMPILATION",
                                            log: "random.cu(3): error: identifier \"x\" is undefined\n\n")
        #expect(compile.description == """
            NVRTC could not compile random.cu with --gpu-architecture=sm_90: NVRTC_ERROR_COMPILATION
            random.cu(3): error: identifier "x" is undefined
            """)
        #expect(CUDAError.noDevice("cuda:1 requested, 1 device(s) present").description
                == "no CUDA device: cuda:1 requested, 1 device(s) present")
    }

    @Test func byteCountsReadNaturally() {
        #expect(formatBytes(0) == "0 B" && formatBytes(512) == "512 B" && formatBytes(1536) == "1.50 KiB")
        #expect(formatBytes(80 * (1 << 30)) == "80.00 GiB")
    }
}
