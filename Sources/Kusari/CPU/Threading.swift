import CDNNL
import Foundation

/// Thread count used by oneDNN and by Kusari's own Swift kernels, which share one OpenMP
/// thread team (the one oneDNN runs on), so the two never compete for cores.
public enum Threading {
    nonisolated(unsafe) private static var configuredCount: Int = {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        omp_set_num_threads(Int32(cores))
        return cores
    }()

    /// Number of threads ops may use; defaults to the number of cores.
    public static var threadCount: Int {
        get { configuredCount }
        set {
            configuredCount = max(1, newValue)
            omp_set_num_threads(Int32(configuredCount))
        }
    }

    /// Runs `body(chunkStart, chunkEnd)` over `0..<count` split into contiguous chunks, one per
    /// thread; small ranges (below `grain` elements per thread) and calls from inside another
    /// parallel region run inline on the calling thread.
    @inline(__always)
    public static func parallelFor(_ count: Int, grain: Int = 32_768, _ body: (Int, Int) -> Void) {
        let chunks = min(configuredCount, max(1, count / max(grain, 1)))
        if chunks <= 1 || omp_in_parallel() != 0 {
            if count > 0 { body(0, count) }
            return
        }
        let size = (count + chunks - 1) / chunks
        withoutActuallyEscaping(body) { body in
            let task = ParallelTask { thread, team in
                // The runtime may grant fewer threads than asked for: each takes every team-th chunk.
                for chunk in stride(from: thread, to: chunks, by: max(team, 1)) {
                    let start = chunk * size
                    let end = min(count, start + size)
                    if start < end { body(start, end) }
                }
            }
            let context = Unmanaged.passUnretained(task).toOpaque()
            GOMP_parallel({ context in
                let task = Unmanaged<ParallelTask>.fromOpaque(context!).takeUnretainedValue()
                task.run(Int(omp_get_thread_num()), Int(omp_get_num_threads()))
            }, context, UInt32(chunks), 0)
            withExtendedLifetime(task) {}
        }
    }
}

/// The per-thread work of one ``Threading/parallelFor(_:grain:_:)`` call.
private final class ParallelTask {
    let run: (_ thread: Int, _ teamSize: Int) -> Void
    init(_ run: @escaping (Int, Int) -> Void) { self.run = run }
}
