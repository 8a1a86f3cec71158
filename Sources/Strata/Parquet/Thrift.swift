/// The Thrift compact protocol, as far as Parquet's metadata uses it (see `Parquet/FORMAT-NOTES.md`).
///
/// Writing: a `ThriftWriter` appends fields in ascending id order; nested structs go through
/// `structField`. Reading: `ThriftReader.readStruct` parses a whole struct into a `ThriftStruct`
/// tree through a `ByteCursor`, checking every length against the bytes left and the nesting depth,
/// so damaged or hostile input ends in an error, never a trap or a huge allocation.
enum ThriftType: UInt8 {
    case stop = 0
    case boolTrue = 1
    case boolFalse = 2
    case byte = 3
    case i16 = 4
    case i32 = 5
    case i64 = 6
    case double = 7
    case binary = 8
    case list = 9
    case set = 10
    case map = 11
    case structure = 12
}

struct ThriftWriter {
    private(set) var bytes: [UInt8] = []
    /// The last field id written, per open struct (the compact protocol writes id deltas).
    private var lastField: [Int16] = [0]

    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func zigzag(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }

    mutating func fieldHeader(_ id: Int16, _ type: ThriftType) {
        let delta = Int(id) - Int(lastField[lastField.count - 1])
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type.rawValue)
        } else {
            bytes.append(type.rawValue)
            zigzag(Int64(id))
        }
        lastField[lastField.count - 1] = id
    }

    mutating func bool(_ id: Int16, _ v: Bool) { fieldHeader(id, v ? .boolTrue : .boolFalse) }

    mutating func i32(_ id: Int16, _ v: Int32) {
        fieldHeader(id, .i32)
        zigzag(Int64(v))
    }

    mutating func i64(_ id: Int16, _ v: Int64) {
        fieldHeader(id, .i64)
        zigzag(v)
    }

    mutating func binary(_ id: Int16, _ v: [UInt8]) {
        fieldHeader(id, .binary)
        binaryValue(v)
    }

    mutating func string(_ id: Int16, _ v: String) { binary(id, Array(v.utf8)) }

    mutating func binaryValue(_ v: [UInt8]) {
        varint(UInt64(v.count))
        bytes.append(contentsOf: v)
    }

    /// A struct field: `body` writes its fields.
    mutating func structField(_ id: Int16, _ body: (inout ThriftWriter) -> Void) {
        fieldHeader(id, .structure)
        structValue(body)
    }

    /// A struct as a value (a list element, or the top level).
    mutating func structValue(_ body: (inout ThriftWriter) -> Void) {
        lastField.append(0)
        body(&self)
        bytes.append(ThriftType.stop.rawValue)
        lastField.removeLast()
    }

    /// A list field of `count` elements of `type`; the caller writes the elements next.
    mutating func listHeader(_ id: Int16, _ type: ThriftType, count: Int) {
        fieldHeader(id, .list)
        if count < 15 {
            bytes.append(UInt8(count) << 4 | type.rawValue)
        } else {
            bytes.append(0xF0 | type.rawValue)
            varint(UInt64(count))
        }
    }

    mutating func structList<T>(_ id: Int16, _ items: [T], _ body: (inout ThriftWriter, T) -> Void) {
        listHeader(id, .structure, count: items.count)
        for item in items { structValue { body(&$0, item) } }
    }

    mutating func i32List(_ id: Int16, _ items: [Int32]) {
        listHeader(id, .i32, count: items.count)
        for v in items { zigzag(Int64(v)) }
    }

    mutating func stringList(_ id: Int16, _ items: [String]) {
        listHeader(id, .binary, count: items.count)
        for v in items { binaryValue(Array(v.utf8)) }
    }
}

/// A parsed Thrift value. Integers of every width are `int`; `set` reads as `list`.
indirect enum ThriftValue {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case binary([UInt8])
    case list([ThriftValue])
    case map([(ThriftValue, ThriftValue)])
    case structure(ThriftStruct)
}

/// A parsed struct: its fields by id, with typed accessors that say which field is wrong.
struct ThriftStruct {
    var fields: [Int16: ThriftValue] = [:]

    func has(_ id: Int16) -> Bool { fields[id] != nil }

    func int(_ id: Int16) -> Int64? {
        if case .int(let v) = fields[id] { return v }
        return nil
    }

    func bool(_ id: Int16) -> Bool? {
        if case .bool(let v) = fields[id] { return v }
        return nil
    }

    func binary(_ id: Int16) -> [UInt8]? {
        if case .binary(let v) = fields[id] { return v }
        return nil
    }

    func string(_ id: Int16) -> String? { binary(id).map { String(decoding: $0, as: UTF8.self) } }

    func structure(_ id: Int16) -> ThriftStruct? {
        if case .structure(let v) = fields[id] { return v }
        return nil
    }

    func list(_ id: Int16) -> [ThriftValue]? {
        if case .list(let v) = fields[id] { return v }
        return nil
    }

    func structs(_ id: Int16) -> [ThriftStruct]? {
        guard let items = list(id) else { return nil }
        var out: [ThriftStruct] = []
        for item in items {
            guard case .structure(let s) = item else { return nil }
            out.append(s)
        }
        return out
    }

    func ints(_ id: Int16) -> [Int64]? {
        guard let items = list(id) else { return nil }
        var out: [Int64] = []
        for item in items {
            guard case .int(let v) = item else { return nil }
            out.append(v)
        }
        return out
    }
}

struct ThriftReader {
    typealias Malformed = ParquetEncoding.Malformed

    private var cursor: ByteCursor
    /// Structs and containers nest at most this deep (Parquet's metadata nests 5 deep).
    static let depthMax = 32

    init(_ bytes: UnsafeRawBufferPointer, at position: Int = 0) {
        cursor = ByteCursor(bytes)
        cursor.skip(position)
    }

    var position: Int { cursor.position }

    /// A length or count, which cannot exceed the bytes left (every element takes at least one).
    private mutating func size() throws(Malformed) -> Int {
        let n = try cursor.varint()
        guard n <= UInt64(cursor.remaining) else { throw Malformed("a length of \(n) runs past the end") }
        return Int(n)
    }

    mutating func readStruct(depth: Int = 0) throws(Malformed) -> ThriftStruct {
        guard depth < Self.depthMax else { throw Malformed("structs nest too deep") }
        var out = ThriftStruct()
        var last: Int16 = 0
        while true {
            let header = try cursor.byte()
            guard let type = ThriftType(rawValue: header & 0x0F) else { throw Malformed("unknown field type \(header & 0x0F)") }
            if type == .stop { return out }
            let delta = header >> 4
            if delta != 0 {
                let (id, overflow) = last.addingReportingOverflow(Int16(delta))
                if overflow { throw Malformed("a field id overflows") }
                last = id
            } else {
                let id = try cursor.zigzag()
                guard let id16 = Int16(exactly: id) else { throw Malformed("field id \(id) out of range") }
                last = id16
            }
            out.fields[last] = try value(type, depth: depth)
        }
    }

    private mutating func value(_ type: ThriftType, depth: Int) throws(Malformed) -> ThriftValue {
        switch type {
        case .boolTrue: return .bool(true)
        case .boolFalse: return .bool(false)
        case .byte: return .int(Int64(Int8(bitPattern: try cursor.byte())))
        case .i16, .i32, .i64: return .int(try cursor.zigzag())
        case .double: return .double(Double(bitPattern: try cursor.u64()))
        case .binary: return .binary(Array(cursor.take(try size())))
        case .list, .set: return try list(depth: depth + 1)
        case .map: return try map(depth: depth + 1)
        case .structure: return .structure(try readStruct(depth: depth + 1))
        case .stop: throw Malformed("a stop where a value belongs")
        }
    }

    private mutating func element(_ raw: UInt8, depth: Int) throws(Malformed) -> ThriftValue {
        guard let type = ThriftType(rawValue: raw), type != .stop else { throw Malformed("unknown element type \(raw)") }
        if type == .boolTrue || type == .boolFalse {
            // In containers a bool is a byte of its own: 1 true, 0 or 2 false.
            return .bool(try cursor.byte() == 1)
        }
        return try value(type, depth: depth)
    }

    private mutating func list(depth: Int) throws(Malformed) -> ThriftValue {
        guard depth < Self.depthMax else { throw Malformed("containers nest too deep") }
        let header = try cursor.byte()
        let count = header >> 4 == 15 ? try size() : Int(header >> 4)
        guard count <= cursor.remaining else { throw Malformed("a list of \(count) runs past the end") }
        var items: [ThriftValue] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try element(header & 0x0F, depth: depth)) }
        return .list(items)
    }

    private mutating func map(depth: Int) throws(Malformed) -> ThriftValue {
        guard depth < Self.depthMax else { throw Malformed("containers nest too deep") }
        let count = try size()
        if count == 0 { return .map([]) }
        let types = try cursor.byte()
        var items: [(ThriftValue, ThriftValue)] = []
        for _ in 0..<count {
            let k = try element(types >> 4, depth: depth)
            items.append((k, try element(types & 0x0F, depth: depth)))
        }
        return .map(items)
    }
}
