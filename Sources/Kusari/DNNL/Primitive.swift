import CDNNL
import Foundation

/// A created oneDNN primitive with its primitive descriptor, ready to execute.
final class Primitive: @unchecked Sendable {
    let descriptor: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t
    /// What the primitive computes, for profiles (`conv-fwd`, `pool`, …).
    let name: String
    /// The temporary memory one execution needs, or `nil` when it needs none. Primitives are
    /// created with a user-managed scratchpad (``DNNL/primitiveAttributes``): oneDNN's own
    /// scratchpad is thread-local to the creating thread, and a cached primitive run on another
    /// thread would read a scratchpad that does not exist there.
    private let scratchpadLayout: MemoryDescriptor?
    /// One execution at a time, so that arguments and profiles of concurrent callers never mix.
    private let executionLock = NSLock()

    /// Creates the primitive for an already-created primitive descriptor (takes ownership).
    init(descriptor: dnnl_primitive_desc_t, name: String) {
        self.descriptor = descriptor
        self.name = name
        var primitive: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&primitive, descriptor), "dnnl_primitive_create")
        self.primitive = primitive!
        let scratchpad = MemoryDescriptor(raw: dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0)!.pointee)
        scratchpadLayout = scratchpad.byteSize > 0 ? scratchpad : nil
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }

    /// The layout the primitive chose for one of its arguments (`dnnl_query_src_md`, …).
    func layout(_ query: dnnl_query_t, index: Int32 = 0) -> MemoryDescriptor {
        MemoryDescriptor(raw: dnnl_primitive_desc_query_md(descriptor, query, index)!.pointee)
    }

    /// Size in bytes of the workspace the primitive needs (0 when none).
    var workspaceLayout: MemoryDescriptor? {
        let layout = self.layout(dnnl_query_workspace_md)
        return layout.byteSize > 0 ? layout : nil
    }

    /// Runs the primitive synchronously on the given (argument, layout, buffer) triples.
    func execute(_ arguments: [(Int32, MemoryDescriptor, UnsafeMutableRawPointer)]) {
        var args = arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: DNNL.memory($0.1, $0.2)) }
        defer { for arg in args { dnnl_memory_destroy(arg.memory) } }
        let scratchpad = scratchpadLayout.map { HostAllocator.allocate($0.byteSize) }
        defer { if let scratchpad { HostAllocator.release(scratchpad.pointer, size: scratchpad.size) } }
        if let scratchpadLayout, let scratchpad {
            args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: DNNL.memory(scratchpadLayout, scratchpad.pointer)))
        }
        executionLock.lock()
        defer { executionLock.unlock() }
        OpProfiler.measure(name) {
            DNNL.check(dnnl_primitive_execute(primitive, DNNL.stream, Int32(args.count), &args), "dnnl_primitive_execute")
            DNNL.check(dnnl_stream_wait(DNNL.stream), "dnnl_stream_wait")
        }
    }
}

/// Primitives keyed by op, shapes and attributes, so each configuration is created once.
final class PrimitiveCache: @unchecked Sendable {
    static let shared = PrimitiveCache()
    private var primitives: [String: Primitive] = [:]
    private let lock = NSLock()

    /// Returns the cached primitive for `key`, creating its descriptor with `make` on a miss.
    func primitive(_ key: String, make: () -> dnnl_primitive_desc_t) -> Primitive {
        lock.lock(); defer { lock.unlock() }
        if let cached = primitives[key] { return cached }
        let name = key.prefix { $0 != "|" }
        let created = Primitive(descriptor: make(), name: String(name))
        primitives[key] = created
        return created
    }

    /// A reorder between two layouts.
    func reorder(from: MemoryDescriptor, to: MemoryDescriptor) -> Primitive {
        primitive("reorder|\(from.key)|\(to.key)") {
            var pd: dnnl_primitive_desc_t?
            var src = from.raw, dst = to.raw
            DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &src, DNNL.engine, &dst, DNNL.engine,
                                                          DNNL.primitiveAttributes),
                       "dnnl_reorder_primitive_desc_create")
            return pd!
        }
    }
}

extension MemoryDescriptor {
    /// A string identifying the layout exactly, for cache keys.
    var key: String {
        // 64-bit FNV-1a over the descriptor's bytes: cheap enough to compute on every op call.
        let hash = withUnsafeBytes(of: raw) { bytes in
            bytes.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        }
        return String(hash, radix: 16)
    }
}

/// Creates a primitive descriptor from an op descriptor, with a user-managed scratchpad, trapping
/// with `name` on failure.
func makePrimitiveDescriptor<D>(_ desc: inout D, _ name: String, hint: dnnl_primitive_desc_t? = nil) -> dnnl_primitive_desc_t {
    var pd: dnnl_primitive_desc_t?
    let status = withUnsafeMutablePointer(to: &desc) { pointer in
        dnnl_primitive_desc_create(&pd, UnsafeRawPointer(pointer), DNNL.primitiveAttributes, DNNL.engine, hint)
    }
    DNNL.check(status, "dnnl_primitive_desc_create(\(name))")
    return pd!
}
