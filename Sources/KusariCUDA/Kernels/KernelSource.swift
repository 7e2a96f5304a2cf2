/// CUDA C++ source of a family of the project's kernels, compiled at run time by NVRTC.
///
/// Sources include no headers (NVRTC runs without the CUDA toolkit's headers); every kernel is
/// `extern "C"` so its name is the one listed in ``functions``. Each source starts with
/// ``prelude``: the integer typedefs, the grid-stride loop, the rank-6 stride layout and a block
/// reduction.
public struct KernelSource: Sendable, Hashable {
    /// Short name, used as the NVRTC program name (`<name>.cu`) and in errors.
    public let name: String
    /// The full source text handed to NVRTC.
    public let code: String
    /// Every kernel the source defines.
    public let functions: [String]

    /// A source made of ``prelude`` and `body`.
    init(name: String, body: String, functions: [String]) {
        self.name = name
        self.code = KernelSource.prelude + body
        self.functions = functions
    }

    /// Every kernel source of the project.
    public static let all: [KernelSource] = [
        .elementwise, .reduction, .crossEntropy, .indexing, .optimizer, .random, .conversion,
        .activation, .softmax, .pooling,
    ]

    /// Definitions shared by every source.
    ///
    /// `Layout6` describes a tensor of rank up to 6 for the broadcasting and strided kernels:
    /// `size` holds its dimensions padded on the left with 1s, `a` and `b` the element strides
    /// of two operands (0 along a broadcast dimension). ``KernelLayout`` builds it on the host.
    static let prelude = #"""
        typedef long long i64;
        typedef unsigned long long u64;
        typedef unsigned int u32;
        typedef unsigned short u16;
        typedef unsigned char u8;

        struct Layout6 { i64 size[6]; i64 a[6]; i64 b[6]; };

        #define KUSARI_FOR_EACH(i, n) \
            for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)blockDim.x * gridDim.x)

        /* Offsets into operands a and b of element `linear` of the row-major iteration space. */
        __device__ __forceinline__ void layout_offsets(const Layout6& L, i64 linear, i64& oa, i64& ob) {
            oa = 0; ob = 0;
        #pragma unroll
            for (int d = 5; d >= 0; --d) {
                const i64 s = L.size[d];
                if (s == 1) continue;
                const i64 q = linear / s, c = linear - q * s;
                linear = q;
                oa += c * L.a[d];
                ob += c * L.b[d];
            }
        }

        __device__ __forceinline__ float kusari_nan() { return __int_as_float(0x7fc00000); }
        __device__ __forceinline__ float kusari_infinity() { return __int_as_float(0x7f800000); }

        /* Sum or max over the block (`shared`: 33 floats); every thread gets the result. */
        __device__ float block_reduce(float v, bool maximum, float* shared) {
            const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
        #pragma unroll
            for (int o = 16; o > 0; o >>= 1) {
                const float w = __shfl_down_sync(0xffffffffu, v, o);
                v = maximum ? fmaxf(v, w) : v + w;
            }
            if (lane == 0) shared[warp] = v;
            __syncthreads();
            if (warp == 0) {
                v = lane < warps ? shared[lane] : (maximum ? -kusari_infinity() : 0.0f);
        #pragma unroll
                for (int o = 16; o > 0; o >>= 1) {
                    const float w = __shfl_down_sync(0xffffffffu, v, o);
                    v = maximum ? fmaxf(v, w) : v + w;
                }
                if (lane == 0) shared[32] = v;
            }
            __syncthreads();
            const float result = shared[32];
            __syncthreads();
            return result;
        }

        """#
}

/// The host side of the kernels' `Layout6` argument: the iteration shape (rank ≤ 6) and the
/// element strides of two operands.
public struct KernelLayout: Sendable, Equatable {
    /// The largest rank the strided kernels handle.
    public static let maxRank = 6

    /// Sizes padded on the left with 1s to rank 6.
    public let sizes: [Int64]
    /// Strides of operand `a`, padded with 0s.
    public let stridesA: [Int64]
    /// Strides of operand `b`, padded with 0s.
    public let stridesB: [Int64]

    /// A layout over `shape` with the given operand strides (in elements; 0 to broadcast).
    public init(shape: [Int], stridesA: [Int], stridesB: [Int]) {
        precondition(shape.count <= Self.maxRank, "rank \(shape.count) is above \(Self.maxRank)")
        precondition(stridesA.count == shape.count && stridesB.count == shape.count,
                     "strides \(stridesA) / \(stridesB) do not match shape \(shape)")
        let padding = Self.maxRank - shape.count
        sizes = Array(repeating: 1, count: padding) + shape.map(Int64.init)
        self.stridesA = Array(repeating: 0, count: padding) + stridesA.map(Int64.init)
        self.stridesB = Array(repeating: 0, count: padding) + stridesB.map(Int64.init)
    }

    /// The launch argument (the struct's 18 `long long` fields in order).
    public var argument: KernelArgument { .int64s(sizes + stridesA + stridesB) }
}
