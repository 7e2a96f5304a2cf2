import CDNNL
import Dispatch
import Foundation

/// Thread count used by oneDNN (OpenMP) and by Kusari's own Swift kernels.
public enum Threading {
    nonisolated(unsafe) private static var configuredCount = ProcessInfo.processInfo.activeProcessorCount

    /// Number of threads ops may use; defaults to the number of cores.
    public static var threadCount: Int {
        get { configuredCount }
        set {
            configuredCount = max(1, newValue)
            omp_set_num_threads(Int32(configuredCount))
        }
    }

    /// Runs `body(chunkStart, chunkEnd)` over `0..<count` split into contiguous chunks across
    /// threads; small ranges (below `grain` elements per thread) run inline.
    @inline(__always)
    public static func parallelFor(_ count: Int, grain: Int = 32_768, _ body: (Int, Int) -> Void) {
        let chunks = min(configuredCount, max(1, count / max(grain, 1)))
        if chunks <= 1 {
            if count > 0 { body(0, count) }
            return
        }
        let size = (count + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = chunk * size
            let end = min(count, start + size)
            if start < end { body(start, end) }
        }
    }
}
