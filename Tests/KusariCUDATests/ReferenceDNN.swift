import Foundation
import Kusari
import Synchronization
@testable import KusariCUDA

/// A stand-in for `libcudnn` that computes convolutions on the CPU, for a ``CUDABackend`` on the
/// ``RecordingDriver`` (whose device memory is host memory).
///
/// It keeps what the descriptor setters are given and follows cuDNN's documented contract for
/// the legacy convolution API: `y = alpha·conv(x, w) + beta·y` (and the backward-data,
/// backward-filter and backward-bias counterparts) over NCHW tensors addressed through their
/// descriptors' strides, `[K, C/groups, R, S]` filters, padding, stride, dilation, groups,
/// cross-correlation or convolution mode, float32 scaling factors. It reads the operands through
/// the descriptors and computes with Kusari's CPU convolution (tested on its own against
/// reference values), so what it checks is how the backend describes each call to cuDNN. It refuses what cuDNN refuses
/// with `CUDNN_STATUS_BAD_PARAM`: tensors whose sizes do not make the convolution (the output
/// size formula, channels and groups), mixed data types, a compute type other than float32, a
/// workspace smaller than the algorithm's. Its algorithm heuristics list two algorithms, a
/// non-deterministic one needing a 1 KiB workspace first and a deterministic one without, both
/// with the descriptor's math type.
///
/// Spatial batch normalisation follows cuDNN's formulas: training normalises with the batch's
/// biased variance, saves the mean and `1/√(var + eps)`, and blends the unbiased variance into
/// the running variance with the exponential average factor; inference uses the running
/// statistics; backward gives the data, scale and bias gradients from the saved statistics.
/// Cross-channel LRN follows cuDNN's formulas: `y = x / scale^beta` with `scale = k + alpha/n ·
/// Σ x²` over the `n` channels centred on each one, and the backward
/// `dx = dy · scale^-beta − 2·beta·alpha/n · x · Σ dy·y/scale` (over the windows holding the
/// channel), using the `y` it is given.
final class ReferenceDNN: StandInLibrary, @unchecked Sendable {
    let path = "CPU reference stand-in for libcudnn"


    static let badParameter: Int32 = 3, notSupported: Int32 = 9
    /// The workspace bytes of algorithm 0 (algorithm 1 needs none).
    static let workspaceOfFirstAlgorithm = 1024

    /// What a descriptor was set to.
    enum Descriptor {
        case unset
        case tensor(dataType: Int32, dims: [Int], strides: [Int])
        case filter(dataType: Int32, format: Int32, dims: [Int])
        case convolution(padding: [Int], stride: [Int], dilation: [Int], mode: Int32, computeType: Int32,
                         groups: Int, mathType: Int32)
        case lrn(size: Int, alpha: Float, beta: Float, k: Float)
    }

    static let descriptors = Mutex<[Descriptor]>([])

    static func create(_ handle: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
        let index = descriptors.withLock { $0.append(.unset); return $0.count - 1 }
        handle?.pointee = OpaquePointer(bitPattern: index + 1)
        return 0
    }

    static func descriptor(_ handle: OpaquePointer?) -> Descriptor {
        let index = Int(bitPattern: UnsafeRawPointer(handle)) - 1
        return descriptors.withLock { index >= 0 && index < $0.count ? $0[index] : .unset }
    }

    static func set(_ handle: OpaquePointer?, _ value: Descriptor) -> Int32 {
        let index = Int(bitPattern: UnsafeRawPointer(handle)) - 1
        return descriptors.withLock { descriptors in
            guard index >= 0, index < descriptors.count else { return badParameter }
            descriptors[index] = value
            return 0
        }
    }

    /// A tensor operand: data type, NCHW sizes and element strides, and its memory.
    struct Operand {
        let dataType: Int32
        let dims: [Int]
        let strides: [Int]
        let address: CUdeviceptr

        init?(tensor handle: OpaquePointer?, _ address: CUdeviceptr) {
            guard case let .tensor(dataType, dims, strides) = ReferenceDNN.descriptor(handle), dims.count == 4 else {
                return nil
            }
            (self.dataType, self.dims, self.strides, self.address) = (dataType, dims, strides, address)
        }

        init?(filter handle: OpaquePointer?, _ address: CUdeviceptr) {
            guard case let .filter(dataType, format, dims) = ReferenceDNN.descriptor(handle), dims.count == 4,
                  format == CUDNN.TensorFormat.nchw.rawValue else { return nil }
            let strides = [dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1]
            (self.dataType, self.dims, self.strides, self.address) = (dataType, dims, strides, address)
        }

        var count: Int { dims.reduce(1, *) }

        func offset(_ a: Int, _ b: Int, _ c: Int, _ d: Int) -> Int {
            a * strides[0] + b * strides[1] + c * strides[2] + d * strides[3]
        }

        func load(_ offset: Int) -> Float { StandInElement(cudnn: dataType).load(address, offset) }

        /// The offsets of the elements in row-major NCHW order (spatially flipped when `flipped`).
        func offsets(flipped: Bool = false) -> [Int] {
            var offsets: [Int] = []
            offsets.reserveCapacity(count)
            for a in 0..<dims[0] {
                for b in 0..<dims[1] {
                    for c in 0..<dims[2] {
                        for d in 0..<dims[3] {
                            offsets.append(flipped ? offset(a, b, dims[2] - 1 - c, dims[3] - 1 - d) : offset(a, b, c, d))
                        }
                    }
                }
            }
            return offsets
        }

        /// The memory of a packed row-major float32 operand, which is read and written in
        /// bulk; `nil` for any other (read element by element through the strides).
        private var packedFloats: UnsafeMutableBufferPointer<Float>? {
            let packed = [dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1]
            guard dataType == CUDNN.DataType.float32.rawValue, strides == packed else { return nil }
            return UnsafeMutableBufferPointer(start: UnsafeMutablePointer(bitPattern: UInt(address)), count: count)
        }

        /// The operand's values as a contiguous float32 CPU tensor, read through its strides
        /// (spatially flipped when `flipped`).
        func tensor(flipped: Bool = false) -> Tensor {
            if !flipped, let floats = packedFloats { return Tensor(Array(floats), shape: dims) }
            return Tensor(offsets(flipped: flipped).map(load), shape: dims)
        }

        /// Stores the contiguous `values` (of the operand's shape) scaled, through its strides
        /// (spatially flipped when `flipped`).
        func store(_ values: Tensor, alpha: Float, beta: Float, flipped: Bool = false) {
            let scalars = values.contiguous().scalars
            if !flipped, let floats = packedFloats {
                for index in floats.indices {
                    floats[index] = alpha * scalars[index] + (beta == 0 ? 0 : beta * floats[index])
                }
                return
            }
            for (value, offset) in zip(scalars, offsets(flipped: flipped)) {
                store(value, at: offset, alpha: alpha, beta: beta)
            }
        }

        /// Stores `alpha·value + beta·old` (the old value not read when `beta` is 0), rounded
        /// to nearest even for the 16-bit types.
        func store(_ value: Float, at offset: Int, alpha: Float, beta: Float) {
            let result = alpha * value + (beta == 0 ? 0 : beta * load(offset))
            StandInElement(cudnn: dataType).store(result, address, offset)
        }
    }

    /// A convolution problem from `x` to `y` with filter `w`, checked as cuDNN checks it.
    struct Problem {
        let x: Operand, w: Operand, y: Operand
        let padding: [Int], stride: [Int], dilation: [Int], groups: Int
        let flips: Bool

        init?(x: Operand?, w: Operand?, convolution: OpaquePointer?, y: Operand?) {
            guard let x, let w, let y,
                  case let .convolution(padding, stride, dilation, mode, computeType, groups, _) =
                    ReferenceDNN.descriptor(convolution),
                  x.dataType == w.dataType, y.dataType == x.dataType, computeType == CUDNN.DataType.float32.rawValue,
                  groups > 0, x.dims[1] == w.dims[1] * groups, w.dims[0] % groups == 0,
                  y.dims[0] == x.dims[0], y.dims[1] == w.dims[0] else { return nil }
            for axis in 0..<2 {
                let span = dilation[axis] * (w.dims[axis + 2] - 1) + 1
                let extent = x.dims[axis + 2] + 2 * padding[axis] - span
                guard extent >= 0, extent / stride[axis] + 1 == y.dims[axis + 2] else { return nil }
            }
            (self.x, self.w, self.y) = (x, w, y)
            (self.padding, self.stride, self.dilation, self.groups) = (padding, stride, dilation, groups)
            flips = mode == CUDNN.ConvolutionMode.convolution.rawValue
        }

        /// The convolution of the CPU tensors `x` and `w` (the filter already flipped for
        /// convolution mode), by Kusari's CPU convolution with the descriptor's settings.
        func convolve(_ x: Tensor, _ w: Tensor) -> Tensor {
            conv2d(x, w, stride: stride, padding: padding, dilation: dilation, groups: groups)
        }

        /// `y = alpha·conv(x, w) + beta·y`.
        func forward(alpha: Float, beta: Float) {
            let result = Autocast.run(nil) { GradMode.withNoGrad { convolve(x.tensor(), w.tensor(flipped: flips)) } }
            y.store(result, alpha: alpha, beta: beta)
        }

        /// `x = alpha·∂(conv)/∂x · y + beta·x` (`y` holding the output gradient).
        func backwardData(alpha: Float, beta: Float) {
            let input = Tensor.zeros(x.dims).requiringGrad()
            Autocast.run(nil) { GradMode.withGrad { convolve(input, w.tensor(flipped: flips)).backward(y.tensor()) } }
            x.store(input.grad!, alpha: alpha, beta: beta)
        }

        /// `w = alpha·∂(conv)/∂w · y + beta·w` (`y` holding the output gradient).
        func backwardFilter(alpha: Float, beta: Float) {
            let filter = Tensor.zeros(w.dims).requiringGrad()
            Autocast.run(nil) { GradMode.withGrad { convolve(x.tensor(), filter).backward(y.tensor()) } }
            w.store(filter.grad!, alpha: alpha, beta: beta, flipped: flips)
        }
    }

    /// The operands of a spatial batch normalisation: data `[N, C, H, W]` (`x`, `y` or `dy`, `dx`
    /// alike) and per-channel `[1, C, 1, 1]` float32 vectors.
    struct BatchNorm {
        let data: [Operand]
        let channels: Int
        let count: Int
        let channel: (CUdeviceptr) -> Operand?

        init?(mode: Int32, data: [(OpaquePointer?, CUdeviceptr)], channel descriptor: OpaquePointer?) {
            let operands = data.compactMap { Operand(tensor: $0.0, $0.1) }
            guard mode == CUDNN.BatchNormMode.spatial.rawValue, operands.count == data.count,
                  let first = operands.first, operands.allSatisfy({ $0.dims == first.dims }),
                  operands.allSatisfy({ $0.dataType == CUDNN.DataType.float32.rawValue }),
                  Operand(tensor: descriptor, 0)?.dims == [1, first.dims[1], 1, 1] else { return nil }
            self.data = operands
            channels = first.dims[1]
            count = first.dims[0] * first.dims[2] * first.dims[3]
            channel = { address in address == 0 ? nil : Operand(tensor: descriptor, address) }
        }

        /// The offsets of channel `c`'s values in `operand`.
        func offsets(_ operand: Operand, channel c: Int) -> [Int] {
            var offsets: [Int] = []
            for n in 0..<operand.dims[0] {
                for h in 0..<operand.dims[2] {
                    for w in 0..<operand.dims[3] { offsets.append(operand.offset(n, c, h, w)) }
                }
            }
            return offsets
        }
    }

    /// A cross-channel LRN: its window and formula constants, and dense float32 NCHW operands
    /// of one shape.
    struct LocalResponseNorm {
        let size: Int, alpha: Float, beta: Float, k: Float
        let data: [Operand]

        init?(_ descriptor: OpaquePointer?, mode: Int32, _ data: [(OpaquePointer?, CUdeviceptr)]) {
            guard case let .lrn(size, alpha, beta, k) = ReferenceDNN.descriptor(descriptor),
                  mode == CUDNN.lrnCrossChannel else { return nil }
            let operands = data.compactMap { Operand(tensor: $0.0, $0.1) }
            guard operands.count == data.count, let first = operands.first,
                  operands.allSatisfy({ $0.dims == first.dims && $0.dataType == CUDNN.DataType.float32.rawValue }) else {
                return nil
            }
            (self.size, self.alpha, self.beta, self.k, self.data) = (size, alpha, beta, k, operands)
        }

        /// The channels whose window holds channel `c` (the same as `c`'s own window: it is centred).
        func window(_ c: Int, channels: Int) -> ClosedRange<Int> {
            max(0, c - (size - 1) / 2)...min(channels - 1, c + size / 2)
        }

        /// `scale` at `(n, c, h, w)` of `x`.
        func scale(_ x: Operand, _ n: Int, _ c: Int, _ h: Int, _ w: Int) -> Float {
            let squares = window(c, channels: x.dims[1]).map { x.load(x.offset(n, $0, h, w)) }.map { $0 * $0 }
            return k + alpha / Float(size) * squares.reduce(0, +)
        }

        /// Calls `body(n, c, h, w)` for every element.
        func forEachElement(_ body: (Int, Int, Int, Int) -> Void) {
            let dims = data[0].dims
            for n in 0..<dims[0] { for c in 0..<dims[1] { for h in 0..<dims[2] { for w in 0..<dims[3] { body(n, c, h, w) } } } }
        }
    }

    /// Whether `bytes` at `workspace` are enough for `algorithm`.
    static func workspaceSuffices(_ algorithm: Int32, _ workspace: CUdeviceptr, _ bytes: Int) -> Bool {
        guard algorithm == 0 || algorithm == 1 else { return false }
        let needed = algorithm == 0 ? workspaceOfFirstAlgorithm : 0
        return bytes >= needed && (needed == 0 || workspace != 0)
    }

    /// Which of the three convolution calls.
    enum Direction { case forward, backwardData, backwardFilter }

    /// One of the three convolution calls, from `x` to `y` with filter `w` (descriptor and
    /// memory each), after cuDNN's checks: the result goes to `y`, `x` or `w`, scaled.
    static func convolve(_ direction: Direction, x: (OpaquePointer?, CUdeviceptr), w: (OpaquePointer?, CUdeviceptr),
                         _ convolution: OpaquePointer?, y: (OpaquePointer?, CUdeviceptr), algorithm: Int32,
                         workspace: CUdeviceptr, bytes: Int, alpha: UnsafeRawPointer?, beta: UnsafeRawPointer?) -> Int32 {
        guard let problem = Problem(x: Operand(tensor: x.0, x.1), w: Operand(filter: w.0, w.1), convolution: convolution,
                                    y: Operand(tensor: y.0, y.1)),
              workspaceSuffices(algorithm, workspace, bytes), let alpha, let beta else { return badParameter }
        let (scale, blend) = (alpha.load(as: Float.self), beta.load(as: Float.self))
        switch direction {
        case .forward: problem.forward(alpha: scale, beta: blend)
        case .backwardData: problem.backwardData(alpha: scale, beta: blend)
        case .backwardFilter: problem.backwardFilter(alpha: scale, beta: blend)
        }
        return 0
    }

    /// The heuristic ranking for the convolution from `x` to `y` with filter `w`: two entries
    /// with the convolution descriptor's math type, or `CUDNN_STATUS_BAD_PARAM` for shapes that
    /// do not make the convolution.
    static func rank(x: OpaquePointer?, w: OpaquePointer?, _ convolution: OpaquePointer?, y: OpaquePointer?,
                     _ requested: Int32, _ returned: UnsafeMutablePointer<Int32>?,
                     _ entries: UnsafeMutableRawPointer?) -> Int32 {
        guard Problem(x: Operand(tensor: x, 0), w: Operand(filter: w, 0), convolution: convolution,
                      y: Operand(tensor: y, 0)) != nil,
              case let .convolution(_, _, _, _, _, _, mathType) = descriptor(convolution), requested > 0,
              let entries else { return badParameter }
        let ranking: [(algorithm: Int32, determinism: Int32, memory: Int)] = [(0, 0, workspaceOfFirstAlgorithm), (1, 1, 0)]
        let count = min(Int(requested), ranking.count)
        let perf = entries.bindMemory(to: CUDNNAlgorithmPerformance.self, capacity: count)
        for index in 0..<count {
            perf[index] = CUDNNAlgorithmPerformance()
            perf[index].algorithm = ranking[index].algorithm
            perf[index].determinism = ranking[index].determinism
            perf[index].memory = ranking[index].memory
            perf[index].mathType = mathType
        }
        returned?.pointee = Int32(count)
        return 0
    }

    static let functions: [String: UnsafeMutableRawPointer] = {
        let create: CUDNN.CreateDescriptor = { ReferenceDNN.create($0) }
        let destroy: CUDNN.DestroyDescriptor = { ReferenceDNN.set($0, .unset) }
        let workspace: CUDNN.GetWorkspaceSize = { _, _, _, _, _, algorithm, bytes in
            bytes?.pointee = algorithm == 0 ? ReferenceDNN.workspaceOfFirstAlgorithm : 0
            return 0
        }
        var table: [String: UnsafeMutableRawPointer] = [
            "cudnnGetVersion": standInEntry({ 91002 } as CUDNN.GetVersion),
            "cudnnCreate": standInEntry({ $0?.pointee = OpaquePointer(bitPattern: 0xd00); return 0 } as CUDNN.Create),
            "cudnnDestroy": standInEntry({ _ in 0 } as CUDNN.Destroy),
            "cudnnSetStream": standInEntry({ _, _ in 0 } as CUDNN.SetStream),
            "cudnnGetErrorString": standInEntry({ status in
                UnsafePointer(status == ReferenceDNN.badParameter ? ReferenceDNN.badParameterText : ReferenceDNN.otherText)
            } as CUDNN.GetErrorString),
            "cudnnSetTensorNdDescriptor": standInEntry({ descriptor, dataType, count, dims, strides in
                guard (3...8).contains(count), let dims, let strides else { return ReferenceDNN.badParameter }
                let sizes = (0..<Int(count)).map { Int(dims[$0]) }, steps = (0..<Int(count)).map { Int(strides[$0]) }
                guard sizes.allSatisfy({ $0 > 0 }), steps.allSatisfy({ $0 > 0 }) else { return ReferenceDNN.badParameter }
                return ReferenceDNN.set(descriptor, .tensor(dataType: dataType, dims: sizes, strides: steps))
            } as CUDNN.SetTensorNd),
            "cudnnSetFilterNdDescriptor": standInEntry({ descriptor, dataType, format, count, dims in
                guard (3...8).contains(count), let dims else { return ReferenceDNN.badParameter }
                let sizes = (0..<Int(count)).map { Int(dims[$0]) }
                guard sizes.allSatisfy({ $0 > 0 }) else { return ReferenceDNN.badParameter }
                return ReferenceDNN.set(descriptor, .filter(dataType: dataType, format: format, dims: sizes))
            } as CUDNN.SetFilterNd),
            "cudnnSetConvolution2dDescriptor": standInEntry({ descriptor, padH, padW, strideH, strideW, dilationH, dilationW,
                                                       mode, computeType in
                guard padH >= 0, padW >= 0, strideH > 0, strideW > 0, dilationH > 0, dilationW > 0,
                      mode == 0 || mode == 1 else { return ReferenceDNN.badParameter }
                return ReferenceDNN.set(descriptor, .convolution(
                    padding: [Int(padH), Int(padW)], stride: [Int(strideH), Int(strideW)],
                    dilation: [Int(dilationH), Int(dilationW)], mode: mode, computeType: computeType, groups: 1,
                    mathType: CUDNN.MathType.default.rawValue))
            } as CUDNN.SetConvolution2d),
            "cudnnSetConvolutionGroupCount": standInEntry({ descriptor, groups in
                guard groups > 0, case let .convolution(padding, stride, dilation, mode, compute, _, math) =
                        ReferenceDNN.descriptor(descriptor) else { return ReferenceDNN.badParameter }
                return ReferenceDNN.set(descriptor, .convolution(padding: padding, stride: stride, dilation: dilation,
                                                                 mode: mode, computeType: compute, groups: Int(groups),
                                                                 mathType: math))
            } as CUDNN.SetConvolutionInt),
            "cudnnSetConvolutionMathType": standInEntry({ descriptor, mathType in
                guard (0...3).contains(mathType), case let .convolution(padding, stride, dilation, mode, compute, groups, _) =
                        ReferenceDNN.descriptor(descriptor) else { return ReferenceDNN.badParameter }
                return ReferenceDNN.set(descriptor, .convolution(padding: padding, stride: stride, dilation: dilation,
                                                                 mode: mode, computeType: compute, groups: groups,
                                                                 mathType: mathType))
            } as CUDNN.SetConvolutionInt),
            "cudnnGetConvolutionForwardAlgorithm_v7": standInEntry({ _, x, w, convolution, y, requested, returned, entries in
                ReferenceDNN.rank(x: x, w: w, convolution, y: y, requested, returned, entries)
            } as CUDNN.GetAlgorithm),
            "cudnnGetConvolutionBackwardDataAlgorithm_v7": standInEntry({ _, w, dy, convolution, dx, requested, returned, entries in
                ReferenceDNN.rank(x: dx, w: w, convolution, y: dy, requested, returned, entries)
            } as CUDNN.GetAlgorithm),
            "cudnnGetConvolutionBackwardFilterAlgorithm_v7": standInEntry({ _, x, dy, convolution, dw, requested, returned, entries in
                ReferenceDNN.rank(x: x, w: dw, convolution, y: dy, requested, returned, entries)
            } as CUDNN.GetAlgorithm),
            "cudnnGetConvolutionForwardWorkspaceSize": standInEntry(workspace),
            "cudnnGetConvolutionBackwardDataWorkspaceSize": standInEntry(workspace),
            "cudnnGetConvolutionBackwardFilterWorkspaceSize": standInEntry(workspace),
            "cudnnConvolutionForward": standInEntry({ _, alpha, xd, x, wd, w, convolution, algorithm, space, bytes, beta, yd, y in
                ReferenceDNN.convolve(.forward, x: (xd, x), w: (wd, w), convolution, y: (yd, y), algorithm: algorithm,
                                      workspace: space, bytes: bytes, alpha: alpha, beta: beta)
            } as CUDNN.ConvolutionOp),
            "cudnnConvolutionBackwardData": standInEntry({ _, alpha, wd, w, dyd, dy, convolution, algorithm, space, bytes, beta,
                                                           dxd, dx in
                ReferenceDNN.convolve(.backwardData, x: (dxd, dx), w: (wd, w), convolution, y: (dyd, dy),
                                      algorithm: algorithm, workspace: space, bytes: bytes, alpha: alpha, beta: beta)
            } as CUDNN.ConvolutionOp),
            "cudnnConvolutionBackwardFilter": standInEntry({ _, alpha, xd, x, dyd, dy, convolution, algorithm, space, bytes, beta,
                                                             dwd, dw in
                ReferenceDNN.convolve(.backwardFilter, x: (xd, x), w: (dwd, dw), convolution, y: (dyd, dy),
                                      algorithm: algorithm, workspace: space, bytes: bytes, alpha: alpha, beta: beta)
            } as CUDNN.ConvolutionOp),
            "cudnnConvolutionBackwardBias": standInEntry({ _, alpha, dyd, dy, beta, dbd, db in
                guard let gradient = Operand(tensor: dyd, dy), let sums = Operand(tensor: dbd, db),
                      sums.dims == [1, gradient.dims[1], 1, 1], sums.dataType == gradient.dataType else {
                    return ReferenceDNN.badParameter
                }
                for channel in 0..<gradient.dims[1] {
                    var total: Float = 0
                    for n in 0..<gradient.dims[0] {
                        for h in 0..<gradient.dims[2] {
                            for w in 0..<gradient.dims[3] { total += gradient.load(gradient.offset(n, channel, h, w)) }
                        }
                    }
                    sums.store(total, at: sums.offset(0, channel, 0, 0), alpha: alpha!.load(as: Float.self),
                               beta: beta!.load(as: Float.self))
                }
                return 0
            } as CUDNN.ConvolutionBackwardBias),
            "cudnnBatchNormalizationForwardTraining": standInEntry({ _, mode, alpha, beta, xd, x, yd, y, cd, scale, bias, factor,
                                                              runningMean, runningVar, eps, savedMean, savedInverse in
                guard let problem = BatchNorm(mode: mode, data: [(xd, x), (yd, y)], channel: cd),
                      let scale = problem.channel(scale), let bias = problem.channel(bias), eps >= 0,
                      (runningMean == 0) == (runningVar == 0) else { return ReferenceDNN.badParameter }
                let (input, output) = (problem.data[0], problem.data[1])
                for c in 0..<problem.channels {
                    let values = problem.offsets(input, channel: c).map(input.load)
                    let mean = values.reduce(0, +) / Float(problem.count)
                    let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(problem.count)
                    let inverse = 1 / (variance + Float(eps)).squareRoot()
                    let (gamma, shift) = (scale.load(c), bias.load(c))
                    for offset in problem.offsets(output, channel: c) {
                        output.store(gamma * (input.load(offset) - mean) * inverse + shift, at: offset,
                                     alpha: alpha!.load(as: Float.self), beta: beta!.load(as: Float.self))
                    }
                    let f = Float(factor), unbiased = variance * Float(problem.count) / Float(max(problem.count - 1, 1))
                    if let averageMean = problem.channel(runningMean), let averageVar = problem.channel(runningVar) {
                        averageMean.store(averageMean.load(c) * (1 - f) + f * mean, at: c, alpha: 1, beta: 0)
                        averageVar.store(averageVar.load(c) * (1 - f) + f * unbiased, at: c, alpha: 1, beta: 0)
                    }
                    problem.channel(savedMean)?.store(mean, at: c, alpha: 1, beta: 0)
                    problem.channel(savedInverse)?.store(inverse, at: c, alpha: 1, beta: 0)
                }
                return 0
            } as CUDNN.BatchNormTraining),
            "cudnnBatchNormalizationForwardInference": standInEntry({ _, mode, alpha, beta, xd, x, yd, y, cd, scale, bias,
                                                               mean, variance, eps in
                guard let problem = BatchNorm(mode: mode, data: [(xd, x), (yd, y)], channel: cd),
                      let scale = problem.channel(scale), let bias = problem.channel(bias),
                      let mean = problem.channel(mean), let variance = problem.channel(variance),
                      eps >= 0 else { return ReferenceDNN.badParameter }
                let (input, output) = (problem.data[0], problem.data[1])
                for c in 0..<problem.channels {
                    let inverse = 1 / (variance.load(c) + Float(eps)).squareRoot()
                    for (from, to) in zip(problem.offsets(input, channel: c), problem.offsets(output, channel: c)) {
                        output.store(scale.load(c) * (input.load(from) - mean.load(c)) * inverse + bias.load(c), at: to,
                                     alpha: alpha!.load(as: Float.self), beta: beta!.load(as: Float.self))
                    }
                }
                return 0
            } as CUDNN.BatchNormInference),
            "cudnnBatchNormalizationBackward": standInEntry({ _, mode, alphaData, betaData, alphaParameters, betaParameters,
                                                       xd, x, dyd, dy, dxd, dx, cd, scale, dScale, dBias, eps,
                                                       savedMean, savedInverse in
                guard let problem = BatchNorm(mode: mode, data: [(xd, x), (dyd, dy), (dxd, dx)], channel: cd),
                      let scale = problem.channel(scale), let dScale = problem.channel(dScale),
                      let dBias = problem.channel(dBias), let mean = problem.channel(savedMean),
                      let inverse = problem.channel(savedInverse), eps >= 0 else { return ReferenceDNN.badParameter }
                let (input, gradient, result) = (problem.data[0], problem.data[1], problem.data[2])
                let m = Float(problem.count)
                for c in 0..<problem.channels {
                    let xs = problem.offsets(input, channel: c).map(input.load)
                    let dys = problem.offsets(gradient, channel: c).map(gradient.load)
                    let normalized = xs.map { ($0 - mean.load(c)) * inverse.load(c) }
                    let biasGradient = dys.reduce(0, +)
                    let scaleGradient = zip(dys, normalized).map(*).reduce(0, +)
                    for (index, offset) in problem.offsets(result, channel: c).enumerated() {
                        let value = scale.load(c) * inverse.load(c) / m
                            * (m * dys[index] - biasGradient - normalized[index] * scaleGradient)
                        result.store(value, at: offset, alpha: alphaData!.load(as: Float.self),
                                     beta: betaData!.load(as: Float.self))
                    }
                    dScale.store(scaleGradient, at: c, alpha: alphaParameters!.load(as: Float.self),
                                 beta: betaParameters!.load(as: Float.self))
                    dBias.store(biasGradient, at: c, alpha: alphaParameters!.load(as: Float.self),
                                beta: betaParameters!.load(as: Float.self))
                }
                return 0
            } as CUDNN.BatchNormBackward),
            "cudnnSetLRNDescriptor": standInEntry({ descriptor, size, alpha, beta, k in
                guard (1...16).contains(size), k >= 1e-5, beta >= 0.01 else { return ReferenceDNN.badParameter }
                return ReferenceDNN.set(descriptor, .lrn(size: Int(size), alpha: Float(alpha), beta: Float(beta), k: Float(k)))
            } as CUDNN.SetLRN),
            "cudnnLRNCrossChannelForward": standInEntry({ _, descriptor, mode, alpha, xd, x, beta, yd, y in
                guard let lrn = LocalResponseNorm(descriptor, mode: mode, [(xd, x), (yd, y)]) else {
                    return ReferenceDNN.badParameter
                }
                let (input, output) = (lrn.data[0], lrn.data[1])
                lrn.forEachElement { n, c, h, w in
                    let value = input.load(input.offset(n, c, h, w)) * pow(lrn.scale(input, n, c, h, w), -lrn.beta)
                    output.store(value, at: output.offset(n, c, h, w), alpha: alpha!.load(as: Float.self),
                                 beta: beta!.load(as: Float.self))
                }
                return 0
            } as CUDNN.LRNForward),
            "cudnnLRNCrossChannelBackward": standInEntry({ _, descriptor, mode, alpha, yd, y, dyd, dy, xd, x, beta, dxd, dx in
                guard let lrn = LocalResponseNorm(descriptor, mode: mode, [(yd, y), (dyd, dy), (xd, x), (dxd, dx)]) else {
                    return ReferenceDNN.badParameter
                }
                let (output, gradient, input, result) = (lrn.data[0], lrn.data[1], lrn.data[2], lrn.data[3])
                lrn.forEachElement { n, c, h, w in
                    let at = { (channel: Int) in input.offset(n, channel, h, w) }
                    let spread = lrn.window(c, channels: input.dims[1]).map { j in
                        gradient.load(at(j)) * output.load(at(j)) / lrn.scale(input, n, j, h, w)
                    }.reduce(0, +)
                    let value = gradient.load(at(c)) * pow(lrn.scale(input, n, c, h, w), -lrn.beta)
                        - 2 * lrn.beta * lrn.alpha / Float(lrn.size) * input.load(at(c)) * spread
                    result.store(value, at: result.offset(n, c, h, w), alpha: alpha!.load(as: Float.self),
                                 beta: beta!.load(as: Float.self))
                }
                return 0
            } as CUDNN.LRNBackward),
        ]
        for kind in ["Tensor", "Filter", "Convolution", "LRN"] {
            table["cudnnCreate\(kind)Descriptor"] = standInEntry(create)
            table["cudnnDestroy\(kind)Descriptor"] = standInEntry(destroy)
        }
        return table
    }()

    private static let badParameterText = strdup("CUDNN_STATUS_BAD_PARAM (stand-in)")!
    private static let otherText = strdup("CUDNN_STATUS_NOT_SUPPORTED (stand-in)")!
}
