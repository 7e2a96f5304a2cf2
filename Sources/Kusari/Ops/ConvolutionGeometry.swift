import CDNNL

/// Sizes of a 2-d convolution or transposed convolution, in the form oneDNN wants them.
struct ConvolutionGeometry {
    let batch: Int, inChannels: Int, outChannels: Int, groups: Int
    let inputSize: [Int], outputSize: [Int], kernel: [Int]
    let stride: [Int], paddingBegin: [Int], paddingEnd: [Int], dilation: [Int]

    /// Geometry of `conv2d(x, weight)` where weight is `[Cout, Cin/groups, kh, kw]`.
    static func convolution(input: [Int], weight: [Int], stride: [Int], padding: [Int], dilation: [Int],
                            groups: Int) -> ConvolutionGeometry {
        require(input.count == 4, "conv2d expects NCHW input, got shape \(input)")
        require(weight.count == 4, "conv2d expects a [Cout, Cin/groups, kh, kw] weight, got \(weight)")
        require(input[1] == weight[1] * groups,
                "conv2d: input has \(input[1]) channels but weight expects \(weight[1]) x \(groups) groups")
        require(weight[0] % groups == 0, "conv2d: \(weight[0]) output channels not divisible by \(groups) groups")
        let kernel = [weight[2], weight[3]]
        let output = (0..<2).map { (i: Int) -> Int in
            let span: Int = dilation[i] * (kernel[i] - 1) + 1
            return (input[i + 2] + 2 * padding[i] - span) / stride[i] + 1
        }
        require(output.allSatisfy { $0 > 0 },
                "conv2d: input \(input) with kernel \(kernel), padding \(padding) gives empty output \(output)")
        return ConvolutionGeometry(batch: input[0], inChannels: input[1], outChannels: weight[0], groups: groups,
                                   inputSize: [input[2], input[3]], outputSize: output, kernel: kernel,
                                   stride: stride, paddingBegin: padding, paddingEnd: padding, dilation: dilation)
    }

    /// Geometry of `convTranspose2d(x, weight)` where weight is `[Cin, Cout/groups, kh, kw]`;
    /// `requested` fixes the output size (the extra rows/columns come from the end padding).
    static func transposed(input: [Int], weight: [Int], stride: [Int], padding: [Int], dilation: [Int],
                           groups: Int, requested: [Int]?) -> ConvolutionGeometry {
        require(input.count == 4, "convTranspose2d expects NCHW input, got shape \(input)")
        require(weight.count == 4, "convTranspose2d expects a [Cin, Cout/groups, kh, kw] weight, got \(weight)")
        require(input[1] == weight[0], "convTranspose2d: input has \(input[1]) channels, weight expects \(weight[0])")
        let kernel = [weight[2], weight[3]]
        let natural = (0..<2).map { (i: Int) -> Int in
            let span: Int = dilation[i] * (kernel[i] - 1) + 1
            return (input[i + 2] - 1) * stride[i] - 2 * padding[i] + span
        }
        let output = requested ?? natural
        let reachable = output.count == 2 && (0..<2).allSatisfy { (i: Int) -> Bool in
            output[i] > 0 && output[i] < natural[i] + stride[i]
        }
        require(reachable, "convTranspose2d: output size \(output) not reachable from input \(input) (natural size \(natural))")
        let end = (0..<2).map { (i: Int) -> Int in padding[i] - (output[i] - natural[i]) }
        return ConvolutionGeometry(batch: input[0], inChannels: input[1], outChannels: weight[1] * groups,
                                   groups: groups, inputSize: [input[2], input[3]], outputSize: output,
                                   kernel: kernel, stride: stride, paddingBegin: padding, paddingEnd: end,
                                   dilation: dilation)
    }

    var sourceDims: [Int] { [batch, inChannels] + inputSize }
    var destinationDims: [Int] { [batch, outChannels] + outputSize }
    /// oneDNN weight dims: `[G, O/G, I/G, kh, kw]` (grouped) or `[O, I, kh, kw]`.
    var weightDims: [Int] {
        groups == 1 ? [outChannels, inChannels] + kernel
                    : [groups, outChannels / groups, inChannels / groups] + kernel
    }
    var dnnlDilation: [Int] { dilation.map { $0 - 1 } }

    /// Cache key for primitives built on this geometry.
    func key(_ op: String, bias: Bool) -> String {
        "\(op)|\(sourceDims)|\(weightDims)|\(outputSize)|\(stride)|\(paddingBegin)|\(paddingEnd)|\(dilation)|\(bias)"
    }
}
