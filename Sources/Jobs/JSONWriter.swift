/// Appends JSON to a byte buffer directly. Responses are written with this
/// instead of Foundation's JSONEncoder, which dominated the cost of listing
/// jobs (≈ 1,600 lists of 100 jobs per second against ≈ 5,200 for the
/// database part alone).
public struct JSONWriter: Sendable {
    public var bytes: [UInt8] = []
    /// Whether the current container already has a member, so the next needs a
    /// comma. A closed container is a member of its parent, so no stack is needed.
    private var hasMember = false

    public init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

    @inline(__always) private mutating func separate() {
        if hasMember { bytes.append(UInt8(ascii: ",")) }
        hasMember = true
    }

    public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); hasMember = false }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); hasMember = true }
    public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); hasMember = false }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); hasMember = true }

    /// Writes `"key":` for a literal key (the value follows with one of the value
    /// writers). Literal keys are plain ASCII and are copied without escaping.
    public mutating func key(_ k: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        hasMember = false
    }

    /// Writes `"key":` for a key that comes from data, escaped as needed.
    public mutating func key(escaping k: String) {
        separate()
        Self.appendQuoted(k, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        hasMember = false
    }

    public mutating func string(_ s: String) { separate(); Self.appendQuoted(s, to: &bytes) }
    public mutating func int(_ v: Int) { separate(); bytes.append(contentsOf: String(v).utf8) }
    public mutating func bool(_ v: Bool) { separate(); bytes.append(contentsOf: (v ? "true" : "false").utf8) }
    public mutating func null() { separate(); bytes.append(contentsOf: "null".utf8) }
    /// Non-finite doubles have no JSON form and are written as null.
    public mutating func double(_ v: Double) {
        separate()
        if !v.isFinite { bytes.append(contentsOf: "null".utf8); return }
        if v == v.rounded(), abs(v) < 1e15 { bytes.append(contentsOf: String(Int(v)).utf8) } else {
            bytes.append(contentsOf: String(v).utf8)
        }
    }
    /// A timestamp (microseconds since 1970) as an ISO 8601 string, written
    /// digit by digit (lists write hundreds of these per response).
    public mutating func timestamp(_ us: Int64) {
        separate()
        var seconds = us / 1_000_000
        var micro = us % 1_000_000
        if micro < 0 { micro += 1_000_000; seconds -= 1 }
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        // Civil date from days since 1970 (H. Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func digits(_ v: Int64, _ n: Int) {
            let end = bytes.count + n
            bytes.append(contentsOf: repeatElement(0x30, count: n))
            var x = v
            for i in stride(from: end - 1, through: end - n, by: -1) { bytes[i] = UInt8(0x30 + x % 10); x /= 10 }
        }
        bytes.append(UInt8(ascii: "\""))
        digits(year, 4); bytes.append(UInt8(ascii: "-")); digits(month, 2); bytes.append(UInt8(ascii: "-")); digits(day, 2)
        bytes.append(UInt8(ascii: "T"))
        digits(rest / 3600, 2); bytes.append(UInt8(ascii: ":")); digits(rest / 60 % 60, 2); bytes.append(UInt8(ascii: ":"))
        digits(rest % 60, 2); bytes.append(UInt8(ascii: ".")); digits(micro, 6)
        bytes.append(UInt8(ascii: "Z"))
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func timestampField(_ k: StaticString, _ us: Int64?) {
        key(k)
        if let us { timestamp(us) } else { null() }
    }

    /// Already-encoded JSON (e.g. a stored parameters object).
    public mutating func raw(_ json: String) { separate(); bytes.append(contentsOf: json.utf8) }

    public mutating func field(_ k: StaticString, _ v: String) { key(k); string(v) }
    public mutating func field(_ k: StaticString, _ v: String?) { key(k); if let v { string(v) } else { null() } }
    public mutating func field(_ k: StaticString, _ v: Int) { key(k); int(v) }
    public mutating func field(_ k: StaticString, _ v: Int?) { key(k); if let v { int(v) } else { null() } }
    public mutating func field(_ k: StaticString, _ v: Double) { key(k); double(v) }
    public mutating func field(_ k: StaticString, _ v: Double?) { key(k); if let v { double(v) } else { null() } }
    public mutating func field(_ k: StaticString, _ v: Bool) { key(k); bool(v) }

    public mutating func value(_ v: JSONValue) {
        switch v {
        case .null: null()
        case .bool(let b): bool(b)
        case .number(let t): raw(t)
        case .nonFinite: null()
        case .string(let s): string(s)
        case .array(let items):
            beginArray(); for item in items { value(item) }; endArray()
        case .object(let members):
            beginObject(); for (k, item) in members { key(escaping: k); value(item) }; endObject()
        }
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Copies runs that need no escaping in one piece (byte-wise appends were a
    /// fifth of a listing's cost).
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        var s = s
        out.append(UInt8(ascii: "\""))
        s.withUTF8 { text in
            var start = 0
            for i in 0..<text.count {
                let c = text[i]
                guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: text[start..<i]))
                switch c {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(0x5C); out.append(c)
                case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
                default: out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 15)]])
                }
                start = i + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[start...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}
