/// Decoded columns of one block; reused from block to block so a scan allocates per block at most.
final class DecodedBlock {
    var rows = 0
    /// Counts the blocks decoded into this one (and scans ended), so a batch can tell it is stale.
    private(set) var generation = 0
    var times: [Int64] = []
    var columnIndices: [Int] = []
    var types: [ColumnType] = []
    var ints: [[Int64]] = []
    var floats: [[Double]] = []
    /// Per slot: 10^k when the Float64 column is held in `ints` as its decimal integers (value × 10^k).
    var scales: [Double?] = []
    var scratch: [UInt8] = []

    func reset(rows: Int, columns: [Int], schema: Schema) {
        generation &+= 1
        self.rows = rows
        if times.count < rows { times = [Int64](repeating: 0, count: rows) }
        if times.count != rows { times.removeLast(times.count - rows) }
        // Keyed on the types too: the same column indices of another table may have other types.
        if columnIndices != columns || !columns.indices.allSatisfy({ types[$0] == schema.columns[columns[$0]].type }) {
            columnIndices = columns
            types = columns.map { schema.columns[$0].type }
            ints = Array(repeating: [], count: columns.count)
            floats = Array(repeating: [], count: columns.count)
            scales = Array(repeating: nil, count: columns.count)
        }
        for (slot, type) in types.enumerated() {
            scales[slot] = nil
            switch type {
            case .int64: Self.resize(&ints[slot], rows, 0)
            case .float64: Self.resize(&floats[slot], rows, 0)
            }
        }
    }

    /// Marks batches made from this block stale (at the end of a scan).
    func retire() { generation &+= 1 }

    private static func resize<T>(_ a: inout [T], _ n: Int, _ zero: T) {
        if a.count < n { a.append(contentsOf: repeatElement(zero, count: n - a.count)) }
        if a.count > n { a.removeLast(a.count - n) }
    }

    /// Decodes the time chunk's `bytes` into `times`.
    func decodeTimes(_ bytes: UnsafeRawBufferPointer, _ chunk: ChunkDescriptor, what: () -> String) throws(StrataError) {
        try times.withUnsafeMutableBufferPointer { (p) throws(StrataError) in
            try ColumnCodec.decode(bytes, encoding: chunk.encoding, rawLength: Int(chunk.rawLength), rows: rows, into: p, scratch: &scratch, what: what)
        }
    }

    /// Decodes a value chunk's `bytes` into slot `slot` (`descale` false: decimals stay scaled integers).
    func decodeColumn(
        _ slot: Int, _ bytes: UnsafeRawBufferPointer, _ chunk: ChunkDescriptor, descale: Bool, what: () -> String
    ) throws(StrataError) {
        try withColumn(slot) { (p) throws(StrataError) in
            try ColumnCodec.decode(
                bytes, encoding: chunk.encoding, rawLength: Int(chunk.rawLength), rows: rows, into: p,
                scratch: &scratch, descale: descale, what: what)
        }
    }

    /// The storage of a slot: `ints` for Int64 columns and scaled decimals, else `floats` as bit patterns.
    private func withColumn(_ slot: Int, _ body: (UnsafeMutableBufferPointer<Int64>) throws(StrataError) -> Void) throws(StrataError) {
        if types[slot] == .float64 && scales[slot] != nil { Self.resize(&ints[slot], rows, 0) }
        switch scales[slot] == nil ? types[slot] : .int64 {
        case .int64:
            try ints[slot].withUnsafeMutableBufferPointer { (p) throws(StrataError) in try body(p) }
        case .float64:
            try floats[slot].withUnsafeMutableBufferPointer { (p) throws(StrataError) in
                try p.withMemoryRebound(to: Int64.self) { (q) throws(StrataError) in try body(q) }
            }
        }
    }
}
