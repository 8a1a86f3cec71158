/// The rows of a block a scan reads, by their times (ascending within a block).
enum RowWindow: Equatable, Sendable {
    /// The rows whose time is in `from ... through`.
    case times(from: Int64, through: Int64)
    /// The last row whose time is at or before the bound (LATEST ON).
    case lastAtOrBefore(Int64)

    /// Every row.
    static let all = RowWindow.times(from: .min, through: .max)

    /// The latest time a row of the window may have.
    var through: Int64 {
        switch self {
        case .times(_, let through): through
        case .lastAtOrBefore(let through): through
        }
    }
}

/// Decoded columns of one block; reused from block to block so a scan allocates per block at most.
///
/// Per requested column (a "slot"): Int64 values in `ints`, Float64 in `floats`, text in `strings`
/// (with the block's dictionary in `dictionaries` and each row's code in `ints`). `nulls[slot]` marks
/// null rows and is empty when the slot has none; a null row's value is 0 or "". A column the
/// block has no chunk for (added after it was written, or null in every row) is all null.
final class DecodedBlock {
    var rows = 0
    /// Counts the blocks decoded into this one (and scans ended), so a batch can tell it is stale.
    private(set) var generation = 0
    /// The rows' times: `rows` of them, or more after `end(at:)` (read a window by its row range).
    var times: [Int64] = []
    var columnIndices: [Int] = []
    var types: [ColumnType] = []
    var ints: [[Int64]] = []
    var floats: [[Double]] = []
    var strings: [[String]] = []
    var dictionaries: [[String]] = []
    var nulls: [[Bool]] = []
    /// Per slot: 10^k when the Float64 column is held in `ints` as its decimal integers (value × 10^k).
    var scales: [Double?] = []
    var scratch: [UInt8] = []
    /// Decoded values before nulls are spread out, and null row numbers.
    private var present: [Int64] = []
    /// The three columns a predicted chunk names, and the LZ4 output of theirs.
    private var references: ([Int64], [Int64], [Int64]) = ([], [], [])
    var referenceScratch: [UInt8] = []
    /// Rows a scan wants, set after the time column is decoded: number and time columns without
    /// nulls are finished only for rows `first ..< wanted` (the window's rows: `RowWindow`), the
    /// values before `first` left unspecified; `end(at:)` then ends the block at `wanted`.
    var wanted = Int.max
    var first = 0
    /// Whether the segments a chunk in segments decodes are checked against their checksums (as
    /// the scan checks chunks': `Snapshot.decodeChunks` sets it).
    var checkSegments = true
    /// The runs-layout time chunk `times` holds the decoded rows of (`first ..< wanted`), or nil;
    /// its stored bytes are `timesFromBytes` (a buffer reused, not an array a chunk).
    private var timesFrom: TimeChunkKey?
    private var timesFromBytes: [UInt8] = []
    private var timesFromRows = (first: 0, wanted: 0)

    func reset(rows: Int, columns: [Int], schema: Schema) {
        generation &+= 1
        self.rows = rows
        wanted = .max
        first = 0
        if times.count < rows { timesFrom = nil }  // growing does not keep the values
        times.resizeForOverwrite(to: rows)  // its length stays from block to block of the same rows
        // Keyed on the types too: the same column indices of another table may have other types.
        if columnIndices != columns || !columns.indices.allSatisfy({ types[$0] == schema.columns[columns[$0]].type }) {
            columnIndices = columns
            types = columns.map { schema.columns[$0].type }
            ints = Array(repeating: [], count: columns.count)
            floats = Array(repeating: [], count: columns.count)
            strings = Array(repeating: [], count: columns.count)
            dictionaries = Array(repeating: [], count: columns.count)
            nulls = Array(repeating: [], count: columns.count)
            scales = Array(repeating: nil, count: columns.count)
        }
        for (slot, type) in types.enumerated() {
            scales[slot] = nil
            nulls[slot].removeAll(keepingCapacity: true)
            switch type {
            case .int64: ints[slot].resizeForOverwrite(to: rows)
            case .float64: floats[slot].resizeForOverwrite(to: rows)
            case .string:
                ints[slot].resizeForOverwrite(to: rows)
                Self.resize(&strings[slot], rows, "")
            }
        }
    }

    /// Ends the block after row `limit - 1`: `rows` becomes `limit`; the columns, `times` too, keep
    /// their length (a block that ends early is read by row ranges; shortening `times` cost the
    /// next block a store a row to lengthen it again).
    func end(at limit: Int) {
        precondition(limit >= 0 && limit <= rows)
        rows = limit
    }

    /// Marks batches made from this block stale (at the end of a scan).
    func retire() { generation &+= 1 }

    private static func resize<T>(_ a: inout [T], _ n: Int, _ zero: T) {
        if a.count < n { a.append(contentsOf: repeatElement(zero, count: n - a.count)) }
        if a.count > n { a.removeLast(a.count - n) }
    }

    /// Whether row `r` of slot `slot` is null.
    @inline(__always)
    func isNull(_ slot: Int, _ r: Int) -> Bool { !nulls[slot].isEmpty && nulls[slot][r] }

    /// The value of row `r` of slot `slot`.
    func value(_ slot: Int, _ r: Int) -> Value {
        if isNull(slot, r) { return .null }
        switch types[slot] {
        case .int64: return .int64(ints[slot][r])
        case .float64:
            if let scale = scales[slot] { return .float64(Double(ints[slot][r]) / scale) }
            return .float64(floats[slot][r])
        case .string: return .string(strings[slot][r])
        }
    }

    /// Decodes the time chunk's `bytes` into `times` and sets the rows of `window`: `wanted`, the
    /// rows at or before its end, and `first`, its first row. In the runs layout both are counted
    /// from the runs and only the times between computed; otherwise a block the scan leaves early
    /// may have only its first rows decoded (`decodeTimesPrefix`).
    func decodeTimes(
        _ bytes: UnsafeRawBufferPointer, _ chunk: ChunkDescriptor, first firstTime: Int64, last: Int64, window: RowWindow,
        what: () -> String
    ) throws(StrataError) {
        let through = window.through
        if chunk.encoding.runs {
            // Symbols of one market share its calendar, so the blocks of a scan across symbols
            // often have time chunks of the same bytes: the times decoded for the last are kept.
            let key = TimeChunkKey(bytes, chunk, rows: rows, first: firstTime, last: last, window: window)
            if let key, key == timesFrom, timesFromBytes.withUnsafeBytes({ System.sameBytes($0, bytes) }) {
                (first, wanted) = timesFromRows
                return
            }
            timesFrom = nil
            (first, wanted) = try times.withUnsafeMutableBufferPointer { (p) throws(StrataError) in
                try ColumnCodec.decodeTimeRuns(
                    bytes, encoding: chunk.encoding, rawLength: Int(chunk.rawLength), rows: rows, first: firstTime, last: last,
                    window: window, into: p, scratch: &scratch, what: what)
            }
            if let key {
                (timesFrom, timesFromRows) = (key, (first, wanted))
                timesFromBytes.removeAll(keepingCapacity: true)
                timesFromBytes.append(contentsOf: bytes)
            }
            return
        }
        timesFrom = nil
        let prefix = try times.withUnsafeMutableBufferPointer { (p) throws(StrataError) -> Int? in
            if last > through, let n = ColumnCodec.decodeTimesPrefix(
                bytes, encoding: chunk.encoding, rawLength: Int(chunk.rawLength), rows: rows, first: firstTime, last: last,
                through: through, into: p, scratch: &scratch)
            {
                return n
            }
            try ColumnCodec.decode(bytes, encoding: chunk.encoding, rawLength: Int(chunk.rawLength), rows: rows, into: p, scratch: &scratch, what: what)
            return nil
        }
        if let prefix {
            wanted = prefix
        } else if last > through {
            wanted = times.partitionPoint { $0 > through }
        }
        let n = min(wanted, rows)
        switch window {
        case .times(let from, _): first = from > firstTime ? partitionPoint(in: 0..<n) { times[$0] >= from } : 0
        case .lastAtOrBefore: first = max(0, n - 1)
        }
    }

    /// Slot `slot` has no chunk in this block: every row is null.
    func setAllNull(_ slot: Int) {
        nulls[slot].removeAll(keepingCapacity: true)
        nulls[slot].append(contentsOf: repeatElement(true, count: rows))
        switch types[slot] {
        case .int64: for r in 0..<rows { ints[slot][r] = 0 }
        case .float64: for r in 0..<rows { floats[slot][r] = 0 }
        case .string:
            dictionaries[slot] = []
            for r in 0..<rows {
                ints[slot][r] = 0
                strings[slot][r] = ""
            }
        }
    }

    /// Decodes a value chunk's `bytes` into slot `slot` (`descale` false: decimals stay scaled integers).
    func decodeColumn(
        _ slot: Int, _ bytes: UnsafeRawBufferPointer, _ chunk: ChunkDescriptor, descale: Bool, what: () -> String
    ) throws(StrataError) {
        let nullCount = Int(chunk.nullCount)
        let parts = try ChunkParts.locate(bytes, type: chunk.type, nullCount: nullCount, rows: rows, what: what)
        if nullCount > 0 {
            try ChunkParts.decodeNulls(parts, count: nullCount, rows: rows, into: &nulls[slot], scratch: &scratch, numbers: &present, what: what)
        }
        if chunk.type == .string { dictionaries[slot] = try ChunkParts.decodeDictionary(parts, scratch: &scratch, what: what) }
        let count = rows - nullCount
        if nullCount == 0 {
            // Text codes are all looked up below: they are decoded whole.
            let text = chunk.type == .string
            try withColumn(slot) { (p) throws(StrataError) in
                try ColumnCodec.decode(
                    parts.values, encoding: chunk.encoding, rawLength: Int(chunk.rawLength), rows: count, from: text ? 0 : first,
                    limit: text ? nil : wanted, last: ColumnCodec.lastInteger(chunk), into: p, scratch: &scratch, descale: descale,
                    checkSegments: checkSegments, what: what)
            }
        } else {
            if present.count < count { present.resizeForOverwrite(to: count) }
            try present.withUnsafeMutableBufferPointer { (p) throws(StrataError) in
                try ColumnCodec.decode(
                    parts.values, encoding: chunk.encoding, rawLength: Int(chunk.rawLength), rows: count, into: p,
                    scratch: &scratch, descale: descale, checkSegments: checkSegments, what: what)
            }
            spread(slot)
        }
        if chunk.type == .string { try lookUpStrings(slot, what: what) }
    }

    /// Decodes a predicted chunk (Format.md, "Predicted chunks") into slot `slot`: its residuals,
    /// plus the prediction from the three columns it names, which `reference` decodes into the
    /// buffer it is given or finds decoded in a slot (returning a decimal column's scale, -1 for
    /// an int64 column, that slot, and the column's last integer: `ColumnCodec.lastInteger`).
    /// The residuals may be decoded from the chunk's end: the last residual is the last value's
    /// integer less the prediction from the three columns' last integers.
    func decodePredicted(
        _ slot: Int, _ bytes: UnsafeRawBufferPointer, _ chunk: ChunkDescriptor, descale: Bool, what: () -> String,
        reference: (UInt32, inout [Int64]) throws(StrataError) -> (scale: Int, slot: Int?, last: Int64?)
    ) throws(StrataError) {
        if chunk.type != .float64 || !chunk.encoding.has(Encoding.decimal) || chunk.nullCount > 0
            || bytes.count < Prediction.partBytes
        {
            throw .damaged("\(what()): a prediction where none can be")
        }
        let p = try Prediction.read(bytes, what: what)
        let limit = min(wanted, rows)
        let (count, countSlot, lastCount) = try reference(p.count, &references.0)
        let (scale1, slot1, last1) = try reference(p.first, &references.1)
        let (scale2, slot2, last2) = try reference(p.second, &references.2)
        if count != -1 || scale1 < 0 || scale2 < 0 { throw .damaged("\(what()): a prediction names columns it cannot use") }
        // The columns' integers where they are (a slot's, not copied), else as decoded for this.
        let (v, a, b) = (countSlot.map { ints[$0] } ?? references.0, slot1.map { ints[$0] } ?? references.1, slot2.map { ints[$0] } ?? references.2)
        let k = Int(chunk.encoding.scale)
        let (f1, f2) = Prediction.factors(target: k, scale1, scale2)
        let divide = descale ? powersOfTen[k] : nil
        var lastResidual: Int64? = nil
        if let value = ColumnCodec.lastInteger(chunk), let lastCount, let last1, let last2 {
            lastResidual = value &- Prediction.value(lastCount, last1, last2, f1, f2)
        }
        try withColumn(slot) { (out) throws(StrataError) in
            try ColumnCodec.decode(
                UnsafeRawBufferPointer(rebasing: bytes[Prediction.partBytes...]), encoding: chunk.encoding, rawLength: Int(chunk.rawLength),
                rows: rows, from: first, limit: limit, last: lastResidual, into: out, scratch: &scratch, descale: false, residuals: true,
                checkSegments: checkSegments, what: what)
            let window = min(first, limit)..<limit
            v.withUnsafeBufferPointer { v in
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        Prediction.add(to: out, window, v, a, b, f1, f2, divide: divide)
                    }
                }
            }
        }
    }

    /// Moves the decoded values (in `present`) to their rows, leaving 0 in the null rows.
    private func spread(_ slot: Int) {
        let isNull = nulls[slot]
        withColumn(slot) { p in
            var k = 0
            for r in 0..<rows {
                if isNull[r] {
                    p[r] = 0
                } else {
                    p[r] = present[k]
                    k += 1
                }
            }
        }
    }

    /// A text slot's strings from its codes, which must index the dictionary.
    private func lookUpStrings(_ slot: Int, what: () -> String) throws(StrataError) {
        let dictionary = dictionaries[slot]
        let codes = ints[slot]
        let n = Int64(dictionary.count)
        for r in 0..<rows where !isNull(slot, r) {
            let code = codes[r]
            if code < 0 || code >= n { throw .damaged("\(what()): a text code is outside its dictionary") }
            strings[slot][r] = dictionary[Int(code)]
        }
    }

    /// The storage of a slot: `ints` for Int64 and text codes and scaled decimals, else `floats` as bit patterns.
    private func withColumn<E: Error>(_ slot: Int, _ body: (UnsafeMutableBufferPointer<Int64>) throws(E) -> Void) throws(E) {
        if types[slot] == .float64 && scales[slot] != nil { ints[slot].resizeForOverwrite(to: rows) }
        if types[slot] == .float64 && scales[slot] == nil {
            try floats[slot].withUnsafeMutableBufferPointer { (p) throws(E) in
                try p.withMemoryRebound(to: Int64.self) { (q) throws(E) in try body(q) }
            }
        } else {
            try ints[slot].withUnsafeMutableBufferPointer { (p) throws(E) in try body(p) }
        }
    }

    /// Slot `slot` as a column buffer (rows `range`), for rewriting blocks.
    func columnBuffer(_ slot: Int, _ range: Range<Int>) -> ColumnBuffer {
        var b = ColumnBuffer(type: types[slot])
        append(slot, range, to: &b)
        return b
    }

    /// Appends rows `range` of slot `slot` to `b`, a column of the slot's type.
    func append(_ slot: Int, _ range: Range<Int>, to b: inout ColumnBuffer) {
        if range.isEmpty { return }
        let before = b.count
        switch types[slot] {
        case .int64: b.bits.append(contentsOf: ints[slot][range])
        case .float64:
            if let scale = scales[slot] {
                b.bits.append(contentsOf: ints[slot][range].lazy.map { Int64(bitPattern: (Double($0) / scale).bitPattern) })
            } else {
                b.bits.append(contentsOf: floats[slot][range].lazy.map { Int64(bitPattern: $0.bitPattern) })
            }
        case .string: b.strings.append(contentsOf: strings[slot][range])
        }
        if !nulls[slot].isEmpty, nulls[slot][range].contains(true) {
            if b.nulls.isEmpty { b.nulls = [Bool](repeating: false, count: before) }
            b.nulls.append(contentsOf: nulls[slot][range])
        } else if !b.nulls.isEmpty {
            b.nulls.append(contentsOf: repeatElement(false, count: range.count))
        }
    }
}

extension DecodedBlock {
    /// Decoded blocks kept from query to query, a few per core.
    static let pool = Pool()

    final class Pool: @unchecked Sendable {
        private let free = Lock<[DecodedBlock]>([])
        private let kept = min(16, 2 * System.processorCount)

        /// A kept block, or a new one.
        func take() -> DecodedBlock {
            free.withLock { $0.popLast() } ?? DecodedBlock()
        }

        /// Keeps `block` for a later query (marked stale first) unless enough are kept, or it holds
        /// more than `bytesMax` of buffers or text (its strings would stay alive): what the pool
        /// keeps is at most `kept` × `bytesMax`.
        func give(_ block: DecodedBlock) {
            block.retire()
            if block.types.contains(.string) || block.bufferBytes > Self.bytesMax { return }
            free.withLock { if $0.count < kept { $0.append(block) } }
        }

        static let bytesMax = 4 << 20
    }

    /// The bytes its buffers hold (their capacities).
    var bufferBytes: Int {
        let columns = ints.reduce(0) { $0 + $1.capacity } + floats.reduce(0) { $0 + $1.capacity } + present.capacity
        let references = self.references.0.capacity + self.references.1.capacity + self.references.2.capacity
        let bytes = scratch.capacity + referenceScratch.capacity + nulls.reduce(0) { $0 + $1.capacity }
        return 8 * (times.capacity + columns + references) + bytes
    }
}

/// What the times a `DecodedBlock` holds were decoded from, besides a runs-layout time chunk's
/// stored bytes (which the block keeps, up to `maxBytes`): everything else `decodeTimeRuns` reads.
/// Equal keys and bytes give equal times, so a block whose key and bytes match is not decoded again.
private struct TimeChunkKey: Equatable {
    static let maxBytes = 4_096
    let encoding: Encoding
    let rawLength: UInt32
    let rows: Int
    let firstTime: Int64
    let last: Int64
    let window: RowWindow

    init?(_ bytes: UnsafeRawBufferPointer, _ chunk: ChunkDescriptor, rows: Int, first: Int64, last: Int64, window: RowWindow) {
        if bytes.count > Self.maxBytes { return nil }
        (encoding, rawLength, self.rows, firstTime, self.last, self.window) = (chunk.encoding, chunk.rawLength, rows, first, last, window)
    }
}
