import Foundation

/// cuDNN 9 (`libcudnn.so.9`), bound by `dlopen`: the legacy descriptor API for convolution,
/// batch normalisation and LRN (pooling, softmax and activations are the project's own kernels).
///
/// Device buffers are passed as ``CUdeviceptr``; `alpha`/`beta` scaling factors are host
/// pointers to float32 values (float64 for double tensors), as cuDNN expects.
public final class CUDNN: @unchecked Sendable {
    typealias Status = Int32
    typealias Handle = OpaquePointer
    typealias Descriptor = OpaquePointer
    typealias Buffer = CUdeviceptr
    typealias Scale = UnsafeRawPointer
    /// `cudnnConvolution*AlgoPerf_t*`: an array of ``CUDNNAlgorithmPerformance`` (same layout).
    typealias PerfArray = UnsafeMutableRawPointer

    typealias GetVersion = @convention(c) () -> Int
    typealias Create = @convention(c) (UnsafeMutablePointer<Handle?>?) -> Status
    typealias Destroy = @convention(c) (Handle?) -> Status
    typealias SetStream = @convention(c) (Handle?, CUstream?) -> Status
    typealias GetErrorString = @convention(c) (Status) -> UnsafePointer<CChar>?
    typealias CreateDescriptor = @convention(c) (UnsafeMutablePointer<Descriptor?>?) -> Status
    typealias DestroyDescriptor = @convention(c) (Descriptor?) -> Status
    typealias SetTensorNd = @convention(c) (Descriptor?, Int32, Int32, UnsafePointer<Int32>?,
                                            UnsafePointer<Int32>?) -> Status
    typealias SetFilterNd = @convention(c) (Descriptor?, Int32, Int32, Int32, UnsafePointer<Int32>?) -> Status
    typealias SetConvolution2d = @convention(c) (Descriptor?, Int32, Int32, Int32, Int32, Int32, Int32,
                                                 Int32, Int32) -> Status
    typealias SetConvolutionInt = @convention(c) (Descriptor?, Int32) -> Status
    typealias GetAlgorithm = @convention(c) (Handle?, Descriptor?, Descriptor?, Descriptor?, Descriptor?, Int32,
                                             UnsafeMutablePointer<Int32>?, PerfArray?) -> Status
    typealias GetWorkspaceSize = @convention(c) (Handle?, Descriptor?, Descriptor?, Descriptor?, Descriptor?,
                                                 Int32, UnsafeMutablePointer<Int>?) -> Status
    typealias ConvolutionOp = @convention(c) (Handle?, Scale?, Descriptor?, Buffer, Descriptor?, Buffer,
                                              Descriptor?, Int32, Buffer, Int, Scale?, Descriptor?, Buffer) -> Status
    typealias ConvolutionBackwardBias = @convention(c) (Handle?, Scale?, Descriptor?, Buffer, Scale?,
                                                        Descriptor?, Buffer) -> Status
    typealias BatchNormTraining = @convention(c) (Handle?, Int32, Scale?, Scale?, Descriptor?, Buffer, Descriptor?,
                                                  Buffer, Descriptor?, Buffer, Buffer, Double, Buffer, Buffer,
                                                  Double, Buffer, Buffer) -> Status
    typealias BatchNormInference = @convention(c) (Handle?, Int32, Scale?, Scale?, Descriptor?, Buffer,
                                                   Descriptor?, Buffer, Descriptor?, Buffer, Buffer, Buffer,
                                                   Buffer, Double) -> Status
    typealias BatchNormBackward = @convention(c) (Handle?, Int32, Scale?, Scale?, Scale?, Scale?, Descriptor?,
                                                  Buffer, Descriptor?, Buffer, Descriptor?, Buffer, Descriptor?,
                                                  Buffer, Buffer, Buffer, Double, Buffer, Buffer) -> Status
    typealias SetLRN = @convention(c) (Descriptor?, UInt32, Double, Double, Double) -> Status
    typealias LRNForward = @convention(c) (Handle?, Descriptor?, Int32, Scale?, Descriptor?, Buffer, Scale?,
                                           Descriptor?, Buffer) -> Status
    typealias LRNBackward = @convention(c) (Handle?, Descriptor?, Int32, Scale?, Descriptor?, Buffer, Descriptor?,
                                            Buffer, Descriptor?, Buffer, Scale?, Descriptor?, Buffer) -> Status

    /// `cudnnDataType_t` values Kusari uses.
    public enum DataType: Int32, Sendable {
        /// `CUDNN_DATA_FLOAT`.
        case float32 = 0
        /// `CUDNN_DATA_HALF`.
        case float16 = 2
        /// `CUDNN_DATA_BFLOAT16`.
        case bfloat16 = 9
    }

    /// `cudnnTensorFormat_t`.
    public enum TensorFormat: Int32, Sendable {
        /// `CUDNN_TENSOR_NCHW`: channels before spatial dimensions.
        case nchw = 0
        /// `CUDNN_TENSOR_NHWC`: channels last.
        case nhwc = 1
    }

    /// `cudnnConvolutionMode_t`.
    public enum ConvolutionMode: Int32, Sendable {
        /// `CUDNN_CONVOLUTION`: true convolution (flipped filter).
        case convolution = 0
        /// `CUDNN_CROSS_CORRELATION`: what deep-learning frameworks call convolution.
        case crossCorrelation = 1
    }

    /// `cudnnMathType_t`.
    public enum MathType: Int32, Sendable {
        /// `CUDNN_DEFAULT_MATH`: tensor cores for half precision, no down-conversion of float32.
        case `default` = 0
        /// `CUDNN_TENSOR_OP_MATH`: tensor cores allowed.
        case tensorOp = 1
        /// `CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION`: tensor cores, converting float32 data down to half precision.
        case tensorOpAllowConversion = 2
        /// `CUDNN_FMA_MATH`: plain FMA arithmetic only.
        case fma = 3
    }

    /// `cudnnBatchNormMode_t`.
    public enum BatchNormMode: Int32, Sendable {
        /// `CUDNN_BATCHNORM_PER_ACTIVATION`: one mean/variance per element (after fully connected layers).
        case perActivation = 0
        /// `CUDNN_BATCHNORM_SPATIAL`: one mean/variance per channel (after convolutions).
        case spatial = 1
        /// `CUDNN_BATCHNORM_SPATIAL_PERSISTENT`: spatial, faster, may overflow on extreme inputs.
        case spatialPersistent = 2
    }

    /// `CUDNN_LRN_CROSS_CHANNEL_DIM1`, the only `cudnnLRNMode_t`.
    public static let lrnCrossChannel: Int32 = 0

    /// The loaded `libcudnn` (or a stand-in).
    public let library: any CFunctionLookup

    let cudnnGetVersion: GetVersion
    let cudnnCreate: Create
    let cudnnDestroy: Destroy
    let cudnnSetStream: SetStream
    let cudnnGetErrorString: GetErrorString
    let cudnnCreateTensorDescriptor: CreateDescriptor
    let cudnnSetTensorNdDescriptor: SetTensorNd
    let cudnnDestroyTensorDescriptor: DestroyDescriptor
    let cudnnCreateFilterDescriptor: CreateDescriptor
    let cudnnSetFilterNdDescriptor: SetFilterNd
    let cudnnDestroyFilterDescriptor: DestroyDescriptor
    let cudnnCreateConvolutionDescriptor: CreateDescriptor
    let cudnnSetConvolution2dDescriptor: SetConvolution2d
    let cudnnSetConvolutionGroupCount: SetConvolutionInt
    let cudnnSetConvolutionMathType: SetConvolutionInt
    let cudnnDestroyConvolutionDescriptor: DestroyDescriptor
    let cudnnGetConvolutionForwardAlgorithm: GetAlgorithm
    let cudnnGetConvolutionForwardWorkspaceSize: GetWorkspaceSize
    let cudnnConvolutionForward: ConvolutionOp
    let cudnnGetConvolutionBackwardDataAlgorithm: GetAlgorithm
    let cudnnGetConvolutionBackwardDataWorkspaceSize: GetWorkspaceSize
    let cudnnConvolutionBackwardData: ConvolutionOp
    let cudnnGetConvolutionBackwardFilterAlgorithm: GetAlgorithm
    let cudnnGetConvolutionBackwardFilterWorkspaceSize: GetWorkspaceSize
    let cudnnConvolutionBackwardFilter: ConvolutionOp
    let cudnnConvolutionBackwardBias: ConvolutionBackwardBias
    let cudnnBatchNormalizationForwardTraining: BatchNormTraining
    let cudnnBatchNormalizationForwardInference: BatchNormInference
    let cudnnBatchNormalizationBackward: BatchNormBackward
    let cudnnCreateLRNDescriptor: CreateDescriptor
    let cudnnSetLRNDescriptor: SetLRN
    let cudnnDestroyLRNDescriptor: DestroyDescriptor
    let cudnnLRNCrossChannelForward: LRNForward
    let cudnnLRNCrossChannelBackward: LRNBackward

    /// Resolves the function table from an opened `libcudnn` (or a stand-in).
    init(library: any CFunctionLookup) throws {
        self.library = library
        func bind<F>(_ name: String) throws -> F { try library.function(name) }
        cudnnGetVersion = try bind("cudnnGetVersion")
        cudnnCreate = try bind("cudnnCreate")
        cudnnDestroy = try bind("cudnnDestroy")
        cudnnSetStream = try bind("cudnnSetStream")
        cudnnGetErrorString = try bind("cudnnGetErrorString")
        cudnnCreateTensorDescriptor = try bind("cudnnCreateTensorDescriptor")
        cudnnSetTensorNdDescriptor = try bind("cudnnSetTensorNdDescriptor")
        cudnnDestroyTensorDescriptor = try bind("cudnnDestroyTensorDescriptor")
        cudnnCreateFilterDescriptor = try bind("cudnnCreateFilterDescriptor")
        cudnnSetFilterNdDescriptor = try bind("cudnnSetFilterNdDescriptor")
        cudnnDestroyFilterDescriptor = try bind("cudnnDestroyFilterDescriptor")
        cudnnCreateConvolutionDescriptor = try bind("cudnnCreateConvolutionDescriptor")
        cudnnSetConvolution2dDescriptor = try bind("cudnnSetConvolution2dDescriptor")
        cudnnSetConvolutionGroupCount = try bind("cudnnSetConvolutionGroupCount")
        cudnnSetConvolutionMathType = try bind("cudnnSetConvolutionMathType")
        cudnnDestroyConvolutionDescriptor = try bind("cudnnDestroyConvolutionDescriptor")
        cudnnGetConvolutionForwardAlgorithm = try bind("cudnnGetConvolutionForwardAlgorithm_v7")
        cudnnGetConvolutionForwardWorkspaceSize = try bind("cudnnGetConvolutionForwardWorkspaceSize")
        cudnnConvolutionForward = try bind("cudnnConvolutionForward")
        cudnnGetConvolutionBackwardDataAlgorithm = try bind("cudnnGetConvolutionBackwardDataAlgorithm_v7")
        cudnnGetConvolutionBackwardDataWorkspaceSize = try bind("cudnnGetConvolutionBackwardDataWorkspaceSize")
        cudnnConvolutionBackwardData = try bind("cudnnConvolutionBackwardData")
        cudnnGetConvolutionBackwardFilterAlgorithm = try bind("cudnnGetConvolutionBackwardFilterAlgorithm_v7")
        cudnnGetConvolutionBackwardFilterWorkspaceSize = try bind("cudnnGetConvolutionBackwardFilterWorkspaceSize")
        cudnnConvolutionBackwardFilter = try bind("cudnnConvolutionBackwardFilter")
        cudnnConvolutionBackwardBias = try bind("cudnnConvolutionBackwardBias")
        cudnnBatchNormalizationForwardTraining = try bind("cudnnBatchNormalizationForwardTraining")
        cudnnBatchNormalizationForwardInference = try bind("cudnnBatchNormalizationForwardInference")
        cudnnBatchNormalizationBackward = try bind("cudnnBatchNormalizationBackward")
        cudnnCreateLRNDescriptor = try bind("cudnnCreateLRNDescriptor")
        cudnnSetLRNDescriptor = try bind("cudnnSetLRNDescriptor")
        cudnnDestroyLRNDescriptor = try bind("cudnnDestroyLRNDescriptor")
        cudnnLRNCrossChannelForward = try bind("cudnnLRNCrossChannelForward")
        cudnnLRNCrossChannelBackward = try bind("cudnnLRNCrossChannelBackward")
    }

    private static let loaded: Result<CUDNN, Error> = Result {
        // cuDNN's engines load cuBLAS(Lt) and NVRTC by soname; copies loaded first are reused.
        _ = LibraryLocator.probe(.cublasLt)
        _ = LibraryLocator.probe(.cublas)
        _ = LibraryLocator.probe(.nvrtc)
        let probe = LibraryLocator.probe(.cudnn)
        guard let library = probe.loaded else { throw CUDAError.libraryNotFound(.cudnn, detail: probe.summary) }
        return try CUDNN(library: library)
    }

    /// The process's cuDNN binding, loaded on first use.
    public static func load() throws -> CUDNN { try loaded.get() }

    /// cuDNN's name for a status, such as `CUDNN_STATUS_BAD_PARAM`.
    public func errorString(_ status: Int32) -> String {
        cudnnGetErrorString(status).map { String(cString: $0) } ?? "CUDNN_STATUS_UNKNOWN(\(status))"
    }

    /// Throws ``CUDAError/call(library:function:status:name:)`` unless `status` is success.
    public func check(_ status: Int32, _ function: @autoclosure () -> String) throws {
        if status != 0 {
            throw CUDAError.call(library: .cudnn, function: function(), status: status, name: errorString(status))
        }
    }

    /// The library's version, such as `(9, 1, 0)`; works without a GPU.
    public func version() -> (major: Int, minor: Int, patch: Int) {
        // cuDNN 9 encodes major * 10000 + minor * 100 + patch.
        let code = cudnnGetVersion()
        return (code / 10000, code % 10000 / 100, code % 100)
    }
}

/// One entry of cuDNN's algorithm search (`cudnnConvolutionFwdAlgoPerf_t` and its backward
/// twins, which share this layout: 48 bytes).
public struct CUDNNAlgorithmPerformance: Sendable {
    /// The algorithm's enumerator.
    public var algorithm: Int32 = 0
    /// Whether it can run (`0` = success) for the given shapes.
    public var status: Int32 = 0
    /// Measured time in milliseconds (`Find`), or `-1` for heuristics (`Get`).
    public var time: Float = 0
    /// Workspace bytes it needs.
    public var memory: Int = 0
    /// `1` when the algorithm gives the same result on every run.
    public var determinism: Int32 = 0
    /// The `cudnnMathType_t` it uses.
    public var mathType: Int32 = 0
    private var reserved: (Int32, Int32, Int32) = (0, 0, 0)

    /// An empty entry for cuDNN to fill.
    public init() {}

    /// `CUDNN_DETERMINISTIC`: the value of ``determinism`` for a reproducible algorithm.
    static let deterministic: Int32 = 1

    /// Whether the algorithm is reproducible run to run.
    public var isDeterministic: Bool { determinism == Self.deterministic }
}
