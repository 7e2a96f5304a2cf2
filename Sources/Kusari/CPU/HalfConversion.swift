/// Conversions between float32 and the 16-bit float formats (IEEE binary16 and bfloat16), on
/// raw bit patterns. Float → 16-bit rounds to nearest even (NaN stays a quiet NaN, float16
/// overflows to ±infinity, float16 subnormals are produced exactly); 16-bit → float is exact.
/// The routines use integer arithmetic only, so they vectorise and do not depend on the FPU's
/// flush-to-zero mode; the buffer loops split across threads.
enum HalfConversion {
    /// The float16 bit pattern nearest to the float32 with bit pattern `bits`.
    @inline(__always)
    static func float16Bits(fromFloatBits bits: UInt32) -> UInt16 {
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        // Normal range: rebias the exponent (127 → 15), then round the 13 dropped bits to even.
        let rebiased = magnitude &- 0x3800_0000
        let normal = (rebiased &+ 0x0FFF &+ ((rebiased >> 13) & 1)) >> 13
        // Subnormal range (below 2^-14): the value in units of 2^-24, rounded to even.
        let exponent = magnitude >> 23
        let mantissa = (magnitude & 0x007F_FFFF) | 0x0080_0000
        let shift = min(126 &- min(exponent, 126), 31)
        let kept = mantissa >> shift
        let remainder = mantissa & ((1 << shift) &- 1)
        let half = UInt32(1) << (shift &- 1)
        let roundUp: UInt32 = remainder > half || (remainder == half && kept & 1 == 1) ? 1 : 0
        let subnormal = shift > 24 ? 0 : kept &+ roundUp
        let nan = 0x7E00 | (magnitude >> 13) & 0x03FF
        let result: UInt32 = magnitude > 0x7F80_0000 ? nan
            : magnitude >= 0x477F_F000 ? 0x7C00
            : magnitude >= 0x3880_0000 ? normal
            : subnormal
        return sign | UInt16(truncatingIfNeeded: result)
    }

    /// The float32 bit pattern of the float16 with bit pattern `bits` (exact).
    @inline(__always)
    static func floatBits(fromFloat16Bits bits: UInt16) -> UInt32 {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        let normal = ((exponent &+ 112) << 23) | (mantissa << 13)
        let special = 0x7F80_0000 | (mantissa << 13)
        // A subnormal m·2^-24 is normalised by shifting m's leading one into the implicit bit.
        let leading = UInt32(mantissa.leadingZeroBitCount) &- 21
        let subnormal = mantissa == 0 ? 0 : ((113 &- leading) << 23) | ((mantissa << leading) & 0x03FF) << 13
        let magnitude = exponent == 0x1F ? special : exponent == 0 ? subnormal : normal
        return sign | magnitude
    }

    /// The bfloat16 bit pattern nearest to the float32 with bit pattern `bits`.
    @inline(__always)
    static func bfloat16Bits(fromFloatBits bits: UInt32) -> UInt16 {
        let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16
        let nan = (bits >> 16) | 0x0040
        return UInt16(truncatingIfNeeded: bits & 0x7FFF_FFFF > 0x7F80_0000 ? nan : rounded)
    }

    /// The float32 bit pattern of the bfloat16 with bit pattern `bits` (exact).
    @inline(__always)
    static func floatBits(fromBFloat16Bits bits: UInt16) -> UInt32 { UInt32(bits) << 16 }

    /// Rounds `count` floats at `source` to float16 bit patterns at `destination`.
    static func toFloat16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int) {
        let bits = UnsafeRawPointer(source).assumingMemoryBound(to: UInt32.self)
        Threading.parallelFor(count) { start, end in
            for i in start..<end { destination[i] = float16Bits(fromFloatBits: bits[i]) }
        }
    }

    /// Widens `count` float16 bit patterns at `source` to floats at `destination`.
    static func fromFloat16(_ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        let bits = UnsafeMutableRawPointer(destination).assumingMemoryBound(to: UInt32.self)
        Threading.parallelFor(count) { start, end in
            for i in start..<end { bits[i] = floatBits(fromFloat16Bits: source[i]) }
        }
    }

    /// Rounds `count` floats at `source` to bfloat16 bit patterns at `destination`.
    static func toBFloat16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int) {
        let bits = UnsafeRawPointer(source).assumingMemoryBound(to: UInt32.self)
        Threading.parallelFor(count) { start, end in
            for i in start..<end { destination[i] = bfloat16Bits(fromFloatBits: bits[i]) }
        }
    }

    /// Widens `count` bfloat16 bit patterns at `source` to floats at `destination`.
    static func fromBFloat16(_ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        let bits = UnsafeMutableRawPointer(destination).assumingMemoryBound(to: UInt32.self)
        Threading.parallelFor(count) { start, end in
            for i in start..<end { bits[i] = floatBits(fromBFloat16Bits: source[i]) }
        }
    }
}
