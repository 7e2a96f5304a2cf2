import CDNNL
import Foundation

/// Process-wide oneDNN state: the CPU engine, a stream, the thread count, and helpers for
/// status checks, memory objects and reorders.
enum DNNL {
    nonisolated(unsafe) static let engine: dnnl_engine_t = {
        var engine: dnnl_engine_t?
        check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
        return engine!
    }()

    /// The attributes every primitive is created with: a user-managed scratchpad, which
    /// ``Primitive/execute(_:)`` allocates per execution. oneDNN's library-managed scratchpad
    /// lives in the creating thread's storage, so a cached primitive would crash when run from
    /// another thread.
    nonisolated(unsafe) static let primitiveAttributes: dnnl_primitive_attr_t = {
        var attributes: dnnl_primitive_attr_t?
        check(dnnl_primitive_attr_create(&attributes), "dnnl_primitive_attr_create")
        check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user),
              "dnnl_primitive_attr_set_scratchpad_mode")
        return attributes!
    }()

    nonisolated(unsafe) static let stream: dnnl_stream_t = {
        var stream: dnnl_stream_t?
        check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
        return stream!
    }()

    /// Traps with the oneDNN status name when a call fails: these failures are programming
    /// errors (unsupported shapes are validated before reaching oneDNN).
    static func check(_ status: dnnl_status_t, _ call: String) {
        guard status != dnnl_success else { return }
        let names: [UInt32: String] = [
            dnnl_out_of_memory.rawValue: "out of memory", dnnl_invalid_arguments.rawValue: "invalid arguments",
            dnnl_unimplemented.rawValue: "unimplemented", dnnl_iterator_ends.rawValue: "iterator ends",
            dnnl_runtime_error.rawValue: "runtime error", dnnl_not_required.rawValue: "not required",
        ]
        fatalError("Kusari: oneDNN call \(call) failed: \(names[status.rawValue] ?? "status \(status.rawValue)")")
    }

    /// Wraps a buffer as a oneDNN memory object (the caller destroys it).
    static func memory(_ desc: MemoryDescriptor, _ pointer: UnsafeMutableRawPointer?) -> dnnl_memory_t {
        var memory: dnnl_memory_t?
        var raw = desc.raw
        check(dnnl_memory_create(&memory, &raw, engine, pointer), "dnnl_memory_create")
        return memory!
    }

    /// Copies `source` in layout `from` into `destination` in layout `to`.
    static func reorder(from: MemoryDescriptor, source: UnsafeMutableRawPointer,
                        to: MemoryDescriptor, destination: UnsafeMutableRawPointer) {
        let primitive = PrimitiveCache.shared.reorder(from: from, to: to)
        primitive.execute([(DNNL_ARG_FROM, from, source), (DNNL_ARG_TO, to, destination)])
    }
}
