import Foundation
import Testing
@testable import Kusari

/// oneDNN primitives are cached process-wide, so a primitive created on one thread runs on
/// others (test cases, data-loader threads, user code). With oneDNN's library-managed scratchpad
/// that crashed: the scratchpad lives in the creating thread's storage. Kusari gives every
/// execution its own scratchpad; these tests run cached primitives from fresh threads.
struct PrimitiveThreadingTests {
    /// Forward and backward of a strided, padded convolution (oneDNN picks its GEMM-based
    /// backward-data kernel, which needs a scratchpad), with values and gradients as host arrays.
    private static func convolutionStep(_ x: Tensor, _ w: Tensor, _ b: Tensor) -> [[Float]] {
        let (input, weight, bias) = (x.detach().requiringGrad(), w.detach().requiringGrad(), b.detach().requiringGrad())
        let output = conv2d(input, weight, bias: bias, stride: [2, 1], padding: [1, 1])
        (output * output).sum().backward()
        return [output.scalars, input.grad!.scalars, weight.grad!.scalars, bias.grad!.scalars]
    }

    /// Runs `body` on a new thread and waits for its result.
    private static func onNewThread<R: Sendable>(_ body: @escaping @Sendable () -> R) -> R {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: R?
        Thread { result = body(); done.signal() }.start()
        done.wait()
        return result!
    }

    @Test func cachedConvolutionRunsOnOtherThreads() {
        let x = Tensor(fixtureValues(2 * 3 * 7 * 6, seed: 1), shape: [2, 3, 7, 6])
        let w = Tensor(fixtureValues(4 * 3 * 3 * 3, seed: 2), shape: [4, 3, 3, 3])
        let b = Tensor(fixtureValues(4, seed: 3), shape: [4])
        let expected = Self.convolutionStep(x, w, b)
        for _ in 0..<3 {
            #expect(Self.onNewThread { Self.convolutionStep(x, w, b) } == expected)
        }
    }

    @Test func cachedConvolutionRunsOnSeveralThreadsAtOnce() {
        let x = Tensor(fixtureValues(3 * 2 * 9 * 8, seed: 4), shape: [3, 2, 9, 8])
        let w = Tensor(fixtureValues(5 * 2 * 3 * 3, seed: 5), shape: [5, 2, 3, 3])
        let b = Tensor(fixtureValues(5, seed: 6), shape: [5])
        let expected = Self.convolutionStep(x, w, b)
        let lock = NSLock()
        nonisolated(unsafe) var results: [[[Float]]] = []
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let result = Self.convolutionStep(x, w, b)
            lock.withLock { results.append(result) }
        }
        #expect(results.count == 4 && results.allSatisfy { $0 == expected })
    }
}
