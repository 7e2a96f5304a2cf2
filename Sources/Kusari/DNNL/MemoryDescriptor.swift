import CDNNL

/// A oneDNN memory descriptor: logical dims plus the physical layout (plain or blocked).
public struct MemoryDescriptor: @unchecked Sendable, Equatable {
    var raw: dnnl_memory_desc_t

    init(raw: dnnl_memory_desc_t) { self.raw = raw }

    /// A plain row-major float32 descriptor for `dims`.
    init(dims: [Int], dataType: dnnl_data_type_t = dnnl_f32) {
        var desc = dnnl_memory_desc_t()
        var dims64 = dims.map { dnnl_dim_t($0) }
        var strides = Shape.contiguousStrides(dims).map { dnnl_dim_t($0) }
        if dims.isEmpty { dims64 = [1]; strides = [1] }
        DNNL.check(dnnl_memory_desc_init_by_strides(&desc, Int32(dims64.count), &dims64, dataType, &strides),
                   "dnnl_memory_desc_init_by_strides")
        raw = desc
    }

    /// A descriptor with the given dims and `format_any`, letting a primitive choose the layout.
    static func any(dims: [Int]) -> MemoryDescriptor {
        var desc = dnnl_memory_desc_t()
        var dims64 = dims.map { dnnl_dim_t($0) }
        DNNL.check(dnnl_memory_desc_init_by_tag(&desc, Int32(dims.count), &dims64, dnnl_f32, dnnl_format_tag_any),
                   "dnnl_memory_desc_init_by_tag")
        return MemoryDescriptor(raw: desc)
    }

    /// A descriptor for `dims` with explicit element strides.
    init(dims: [Int], strides: [Int]) {
        var desc = dnnl_memory_desc_t()
        var dims64 = dims.map { dnnl_dim_t($0) }
        var strides64 = strides.map { dnnl_dim_t($0) }
        DNNL.check(dnnl_memory_desc_init_by_strides(&desc, Int32(dims.count), &dims64, dnnl_f32, &strides64),
                   "dnnl_memory_desc_init_by_strides")
        raw = desc
    }

    /// Logical dimensions.
    var dims: [Int] {
        withUnsafeBytes(of: raw.dims) { buffer in
            Array(buffer.bindMemory(to: dnnl_dim_t.self).prefix(Int(raw.ndims)).map { Int($0) })
        }
    }

    /// Bytes needed to hold data in this layout (including block padding).
    var byteSize: Int {
        var copy = raw
        return Int(dnnl_memory_desc_get_size(&copy))
    }

    /// Whether this is plain dense row-major float32 data with the same dims.
    var isPlainRowMajor: Bool { self == MemoryDescriptor(dims: dims) }

    public static func == (lhs: MemoryDescriptor, rhs: MemoryDescriptor) -> Bool {
        var a = lhs.raw, b = rhs.raw
        return dnnl_memory_desc_equal(&a, &b) != 0
    }
}
