import Testing
@testable import Strata
@testable import StrataTools

@Suite struct FormatTests {
    @Test func xxh64KnownVectors() {
        #expect(XXH64.hash([]) == 0xEF46_DB37_51D8_E999)
        #expect(XXH64.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXH64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        // Longer than one 32-byte stripe, with a 4-byte and a 1-byte tail.
        #expect(XXH64.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xFBCE_A83C_8A37_8BF1)
    }

    /// Every encoder path round-trips bit for bit, at every small length.
    @Test(arguments: [ColumnType.int64, .float64])
    func codecRoundTrip(type: ColumnType) throws {
        var rng = SplitMix(seed: 42)
        var scratch = EncoderScratch()
        var decodeScratch: [UInt8] = []
        var decimalsAnchored = 0  // decimal chunks whose last value gave their last integer
        defer { if type == .float64 { #expect(decimalsAnchored > 10) } }
        for regime in 0..<5 {
            for n in [1, 2, 3, 7, 8, 9, 63, 64, 65, 240, 1000, 4097] {
                let values = (0..<n).map { randomValue(type, regime: regime, row: $0, using: &rng) }
                for isTime in [false, true] where !(isTime && type == .float64) {
                    var payload: [UInt8] = []
                    let (enc, raw) = values.withUnsafeBufferPointer {
                        ColumnCodec.encode($0, kind: ColumnCodec.Kind(type, isTime: isTime), scratch: &scratch, payload: &payload)
                    }
                    #expect(raw <= Encoding.rawLengthMax(rows: n))
                    var out = [Int64](repeating: 0, count: n)
                    try payload.withUnsafeBytes { stored in
                        try out.withUnsafeMutableBufferPointer { p in
                            try ColumnCodec.decode(stored, encoding: enc, rawLength: raw, rows: n, into: p, scratch: &decodeScratch, what: { "test" })
                        }
                    }
                    #expect(out == values, "type \(type) regime \(regime) n \(n) encoding \(enc.summary)")
                    // A scan that starts or ends inside the block finishes only its rows, from the start or
                    // (given the last value, as the statistics hold it) from the end: the same values.
                    var stats = ColumnStats()
                    stats.last = values[n - 1]
                    let chunk = ChunkDescriptor(
                        type: type, encoding: enc, rawLength: UInt32(raw), storedLength: UInt32(payload.count), offset: 0, hash: 0,
                        stats: stats, columnID: 0, nullCount: 0)
                    for limit in Set([0, 1, n / 2, n - 1, n, Int(rng.next() % UInt64(n + 1))]) {
                        for from in Set([0, 1, limit / 2, limit - 1, Int(rng.next() % UInt64(limit + 1))]) where from >= 0 && from <= limit {
                            for last in [nil, ColumnCodec.lastInteger(chunk)] {
                                var part = [Int64](repeating: 0, count: n)
                                try payload.withUnsafeBytes { stored in
                                    try part.withUnsafeMutableBufferPointer { p in
                                        try ColumnCodec.decode(
                                            stored, encoding: enc, rawLength: raw, rows: n, from: from, limit: limit, last: last, into: p,
                                            scratch: &decodeScratch, what: { "test" })
                                    }
                                }
                                #expect(
                                    part[from..<limit] == values[from..<limit],
                                    "rows \(from)..<\(limit) of \(n), last \(String(describing: last)), encoding \(enc.summary)")
                            }
                        }
                    }
                    if enc.has(Encoding.decimal) && ColumnCodec.lastInteger(chunk) != nil { decimalsAnchored += 1 }
                }
            }
        }
    }

    /// Time columns made of runs (sessions of minute bars, ticks with ties, single rows, gaps of any
    /// size, times that wrap): the runs layout is chosen exactly when the greedy runs average 16 rows,
    /// reads back bit for bit whole and up to any row, and counts the rows at or before any time as
    /// a search of the decoded times does; a chunk whose counts do not add up is damage, not a trap.
    @Test(arguments: 0..<8)
    func timeRunsRoundTrip(seed: UInt64) throws {
        var rng = SplitMix(seed: seed &+ 501)
        var scratch = EncoderScratch()
        var decodeScratch: [UInt8] = []
        var chosen = 0
        defer { #expect(chosen >= 10, "the runs layout was chosen for \(chosen) of 60 columns") }
        for _ in 0..<60 {
            let n = 1 + Int(rng.next() % 3_000)
            var times: [Int64] = []
            var t = seed % 2 == 0 ? Int64(rng.next() % 1_000_000) * 60_000 : Int64(bitPattern: rng.next())
            while times.count < n {
                let step = [60_000, 1, 0, Int64(rng.next() % 1_000)][Int(rng.next() % 4)]
                for _ in 0..<min(n - times.count, 1 + Int(rng.next() % (rng.next() % 3 == 0 ? 4 : 200))) {
                    times.append(t)
                    t &+= step
                }
                t &+= Int64(rng.next() % 100_000_000)
            }
            if seed % 2 == 0 { times.sort() }
            var payload: [UInt8] = []
            let (enc, raw) = times.withUnsafeBufferPointer { ColumnCodec.encode($0, kind: .time, scratch: &scratch, payload: &payload) }
            var runs: [UInt64] = []
            #expect(enc.runs == times.withUnsafeBufferPointer { TimeRuns.find($0, into: &runs) }, "n \(n): \(enc.summary)")
            #expect(raw <= Encoding.rawLengthMax(rows: n))
            for limit in [n, 0, n / 3, Int(rng.next() % UInt64(n + 1))] {
                var out = [Int64](repeating: 0, count: n)
                try payload.withUnsafeBytes { stored in
                    try out.withUnsafeMutableBufferPointer { p in
                        try ColumnCodec.decode(
                            stored, encoding: enc, rawLength: raw, rows: n, limit: limit, into: p, scratch: &decodeScratch, what: { "test" })
                    }
                }
                #expect(out[..<limit] == times[..<limit], "limit \(limit) of \(n), \(enc.summary)")
            }
            if enc.runs { chosen += 1 }
            guard enc.runs, seed % 2 == 0 else { continue }
            let random = { times[Int(rng.next() % UInt64(n))] + Int64(rng.next() % 90_000) }
            for through in [times[n / 2], times[n - 1] - 1, times[n - 1], times[0], times[0] - 1, random()] {
                for window in [RowWindow.times(from: .min, through: through), .times(from: times[n / 3], through: through),
                    .times(from: random(), through: through), .lastAtOrBefore(through)]
                {
                    var out = [Int64](repeating: 0, count: n)
                    let counted = try payload.withUnsafeBytes { stored in
                        try out.withUnsafeMutableBufferPointer { p in
                            try ColumnCodec.decodeTimeRuns(
                                stored, encoding: enc, rawLength: raw, rows: n, first: times[0], last: times[n - 1], window: window, into: p,
                                scratch: &decodeScratch, what: { "test" })
                        }
                    }
                    let wanted = times.partitionPoint { $0 > through }
                    var first = 0
                    switch window {
                    case .times(let from, _): first = min(wanted, times.partitionPoint { $0 >= from })
                    case .lastAtOrBefore: first = max(0, wanted - 1)
                    }
                    #expect(counted.wanted == wanted && counted.first == first, "\(window)")
                    #expect(out[counted.first..<counted.wanted] == times[first..<wanted])
                }
            }
            // Counts that do not add up to the rows (one more, or a run of none): damage.
            var damaged = runs
            damaged[damaged.count - 1] &+= rng.next() % 2 == 0 ? 1 : UInt64.max
            let bytes = damaged.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
            var out = [Int64](repeating: 0, count: n)
            #expect(throws: StrataError.self) {
                try bytes.withUnsafeBytes { stored in
                    try out.withUnsafeMutableBufferPointer { p in
                        try ColumnCodec.decode(
                            stored, encoding: Encoding(flags: 0, runs: true), rawLength: bytes.count, rows: n, into: p, scratch: &decodeScratch,
                            what: { "test" })
                    }
                }
            }
        }
    }

    /// The fast UTF-8 check gives what the standard library's validation gives: the same string for
    /// valid bytes (ASCII, every length of sequence, U+FFFD itself), nil for invalid ones (stray
    /// continuation bytes, overlongs, surrogates, truncated sequences, bytes past U+10FFFF).
    @Test(arguments: 0..<4)
    func utf8CheckMatchesTheStandardLibrary(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        let pieces: [[UInt8]] = [
            Array("a".utf8), Array("Z9_".utf8), Array("é".utf8), Array("€".utf8), Array("𝄞".utf8), [0xEF, 0xBF, 0xBD],
            [0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0xF0, 0x9D, 0x84],
        ]
        for _ in 0..<3_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(rng.next() % 6) { bytes += pieces[Int(rng.next() % UInt64(rng.next() % 2 == 0 ? 6 : pieces.count))] }
            let expected = bytes.withUnsafeBytes { String(validating: $0, as: UTF8.self) }
            let got = bytes.withUnsafeBytes { validUTF8($0) }
            #expect(got == expected, "\(bytes)")
            if let got { #expect(Array(got.utf8) == bytes) }
        }
    }

    @Test func decimalScaleChoosesExactScale() {
        // The table of powers is written as literals: one for every scale, each exact.
        #expect(powersOfTen.count == Limits.decimalScaleMax + 1)
        for (k, p) in powersOfTen.enumerated() { #expect(p == (0..<k).reduce(1.0) { x, _ in x * 10 }) }
        var out: [UInt64] = []
        let prices: [Double] = [1.234, 1.2, 3.0, 0.001]
        let bits = prices.map { Int64(bitPattern: $0.bitPattern) }
        #expect(bits.withUnsafeBufferPointer { ColumnCodec.decimalScale($0, into: &out) } == 3)
        for bad: Double in [-0.0, .nan, .infinity, 0.30000000000000004] {
            let b = [Int64(bitPattern: bad.bitPattern)]
            #expect(b.withUnsafeBufferPointer { ColumnCodec.decimalScale($0, into: &out) } == nil, "\(bad)")
        }
    }

    @Test func statsRulesForNaNAndNegativeZero() {
        let values: [Double] = [.nan, 0.0, -0.0, 2.5, .nan]
        let bits = values.map { Int64(bitPattern: $0.bitPattern) }
        let s = bits.withUnsafeBufferPointer { ColumnStats.compute($0, type: .float64) }
        #expect(Double(bitPattern: UInt64(bitPattern: s.min)).bitPattern == (-0.0).bitPattern)
        #expect(Double(bitPattern: UInt64(bitPattern: s.max)) == 2.5)
        #expect(Double(bitPattern: UInt64(bitPattern: s.sum)) == 2.5)
        #expect(s.nanCount == 2)
        #expect(Double(bitPattern: UInt64(bitPattern: s.first)).isNaN)
        let ints: [Int64] = [.max, 1]
        let si = ints.withUnsafeBufferPointer { ColumnStats.compute($0, type: .int64) }
        #expect(si.sumOverflowed)
        #expect(si.min == 1 && si.max == .max)
    }

    /// Bars-shaped blocks: turnover is stored as residuals from volume × (high + low) / 2, and reads
    /// back exactly, whole, for any window of rows (so from the start or the end of each chunk), as
    /// scaled integers or values, with the columns it is predicted from read or not; a prediction naming an unusable column is damage, not a crash.
    @Test(arguments: 0..<4)
    func predictedChunksReadBackExactly(seed: UInt64) throws {
        var rng = SplitMix(seed: seed &+ 77)
        let rows = [8_192, 1_000, 240, 129][Int(seed)]
        var price = 2_500 + Int64(rng.next() % 1_000)
        var cols = Array(repeating: [Int64](), count: 6)  // open high low close volume amount
        // Seeds 2 and 3: a steady volume and a turnover that drifts from the prediction, so that
        // its residuals are stored as deltas (and decoded from a chunk's end for a late window).
        let drifting = seed >= 2
        var drift = 0.0
        for _ in 0..<rows {
            let o = price, c = price + Int64(rng.next() % 21) - 10
            let h = max(o, c) + Int64(rng.next() % 5), l = min(o, c) - Int64(rng.next() % 5)
            let v = drifting ? 10_000 : Int64(rng.next() % 5_000) * 100
            drift += Double(Int(rng.next() % 3) - 1) / 100
            let vwap =
                drifting
                ? Double(h + l) / 2 + drift  // tenths of a tick
                : Double(l) + Double(rng.next() % 1_000) / 1_000 * Double(h - l)  // in [low, high], tenths of a tick
            let amount = (Double(v) * vwap / 100).rounded() / 10  // yuan, one decimal
            for (k, x) in [o, h, l, c].enumerated() { cols[k].append(Int64(bitPattern: (Double(x) / 1_000).bitPattern)) }
            cols[4].append(v)
            cols[5].append(Int64(bitPattern: amount.bitPattern))
            price = max(c, 100)
        }
        let times = (0..<rows).map { Int64($0) * 60_000 }
        let types: [ColumnType] = [.float64, .float64, .float64, .float64, .int64, .float64]
        var encoder = BlockEncoder()
        let bytes = encoder.encode(
            tableID: 1, symbolID: 0, times: times, columns: cols.map { ColumnBuffer(bits: $0) }, ids: [0, 1, 2, 3, 4, 5], types: types)
        var schema = Schema(columns: (0..<6).map { Column("c\($0)", types[$0], id: UInt32($0)) })
        schema.nextColumnID = 6
        let region = MappedRegion.copying(bytes)
        let h = try BlockHeader.parse(region, at: 0)
        try withExtendedLifetime(region) {
            #expect(h.chunk(6).encoding.has(Encoding.predicted), "turnover predicted: \(h.chunk(6).encoding.summary)")
            if drifting { #expect(h.chunk(6).encoding.has(Encoding.delta), "drifting turnover: \(h.chunk(6).encoding.summary)") }
            let out = DecodedBlock()
            for (columns, scaled) in [([5], nil), ([0, 1, 2, 3, 4, 5], nil), ([5, 4, 1, 2], [false, false, true, true]), ([1, 5], [true, true])] {
                for through in [Int64.max, times[rows / 2], times[0], times[rows - 1] - 1] {
                    let n = times.partitionPoint { $0 > through }
                    for (window, first) in [(RowWindow.times(from: .min, through: through), 0), (.lastAtOrBefore(through), max(0, n - 1)),
                        (.times(from: times[rows / 3], through: through), min(n, rows / 3)), (.times(from: times[rows - 2], through: through), min(n, rows - 2))]
                    {
                        try Snapshot.decodeChunks(h, schema, columns: columns, scaled: scaled, window: window, checkChecksums: true, into: out, what: { "test" })
                        #expect(out.rows == n && out.first == first, "\(window)")
                        #expect(out.times[first..<n] == times[first..<n])
                        for (slot, c) in columns.enumerated() {
                            let expected = cols[c][first..<n]
                            let got: [Int64]
                            if let s = out.scales[slot] {
                                got = out.ints[slot][first..<n].map { Int64(bitPattern: (Double($0) / s).bitPattern) }
                            } else if types[c] == .float64 {
                                got = out.floats[slot][first..<n].map { Int64(bitPattern: $0.bitPattern) }
                            } else {
                                got = Array(out.ints[slot][first..<n])
                            }
                            #expect(got == Array(expected), "column \(c) of \(columns), \(window)")
                        }
                    }
                }
            }
        }
        // The prediction part names a column the block lacks, then the time column: damage.
        let start = h.offset + h.headerBytes + Int(h.chunk(6).offset)
        for id: UInt32 in [9, 0xFFFF_FFFF] {
            var damaged = bytes
            withUnsafeBytes(of: id.littleEndian) { for i in 0..<4 { damaged[start + i] = $0[i] } }
            let r = MappedRegion.copying(damaged)
            let d = try BlockHeader.parse(r, at: 0)
            #expect(throws: StrataError.self) {
                try withExtendedLifetime(r) {
                    try Snapshot.decodeChunks(d, schema, columns: [5], checkChecksums: false, into: DecodedBlock(), what: { "test" })
                }
            }
        }
    }

    /// A chunk in segments (format 6) reads any window exactly, checks only the segments a read
    /// touches (a damaged segment fails the reads that touch it and a whole-chunk check, not the
    /// others), and a table whose running values do not follow from the segments fails a read to
    /// the segment's end even when every checksum matches.
    @Test(arguments: 0..<3)
    func segmentsReadWhatTheyHold(seed: UInt64) throws {
        var rng = SplitMix(seed: seed &+ 901)
        let rows = [10_000, 4_097, 6_144][Int(seed)]
        let times = (0..<rows).map { Int64($0) * 60_000 }
        var price: Int64 = 25_000
        var prices: [Int64] = [], sizes: [Int64] = [], nulls: [Bool] = []
        for _ in 0..<rows {
            price += Int64(rng.next() % 41) - 20
            prices.append(Int64(bitPattern: (Double(price) / 1_000).bitPattern))
            sizes.append(Int64(rng.next() % 500) * 100)
            nulls.append(rng.next() % 7 == 0)
        }
        var sizeColumn = ColumnBuffer(bits: sizes)
        sizeColumn.nulls = nulls
        var encoder = BlockEncoder()
        let bytes = encoder.encode(
            tableID: 1, symbolID: 0, times: times, columns: [ColumnBuffer(bits: prices), sizeColumn], ids: [0, 1], types: [.float64, .int64])
        var schema = Schema(columns: [Column("p", .float64, id: 0), Column("q", .int64, id: 1)])
        schema.nextColumnID = 2
        func read(_ bytes: [UInt8], _ window: RowWindow, checksums: Bool = true) throws -> DecodedBlock {
            let region = MappedRegion.copying(bytes)
            return try withExtendedLifetime(region) {
                let h = try BlockHeader.parse(region, at: 0)
                let out = DecodedBlock()
                try Snapshot.decodeChunks(h, schema, columns: [0, 1], window: window, checkChecksums: checksums, into: out, what: { "test" })
                return out
            }
        }
        let region = MappedRegion.copying(bytes)
        let h = try BlockHeader.parse(region, at: 0)
        let segments = (rows + Segments.values - 1) / Segments.values
        try withExtendedLifetime(region) {
            #expect(h.chunk(1).encoding.segmented && h.chunk(2).encoding.segmented, "\(h.chunk(1).encoding.summary), \(h.chunk(2).encoding.summary)")
            for _ in 0..<20 {
                let a = Int(rng.next() % UInt64(rows)), b = Int(rng.next() % UInt64(rows))
                let (lo, hi) = (min(a, b), max(a, b))
                let out = try read(bytes, .times(from: times[lo], through: times[hi]))
                #expect(out.first == lo && out.rows == hi + 1)
                #expect(out.floats[0][lo...hi].map { Int64(bitPattern: $0.bitPattern) } == Array(prices[lo...hi]), "rows \(lo)...\(hi)")
                #expect((lo...hi).allSatisfy { out.isNull(1, $0) == nulls[$0] && (nulls[$0] || out.ints[1][$0] == sizes[$0]) }, "rows \(lo)...\(hi)")
            }
            // One row, as an as-of read takes it: past a segment's middle, read back from the
            // segment's end (the next entry's running value, or the chunk's last for the last one).
            for r in (0..<40).map({ _ in Int(rng.next() % UInt64(rows)) }) + [0, rows - 1, Segments.values - 1, Segments.values] {
                let out = try read(bytes, .times(from: times[r], through: times[r]))
                #expect(Int64(bitPattern: out.floats[0][r].bitPattern) == prices[r], "row \(r)")
                #expect(out.isNull(1, r) == nulls[r] && (nulls[r] || out.ints[1][r] == sizes[r]), "row \(r)")
            }
        }
        // The price chunk's table starts the chunk (no nulls, no prediction); its miniblocks follow it.
        let chunkStart = h.offset + h.headerBytes + Int(h.chunk(1).offset)
        let miniblocks = chunkStart + segments * Segments.entryBytes
        func segmentStart(_ k: Int) -> Int {
            let at = chunkStart + k * Segments.entryBytes
            return miniblocks + (Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16)
        }
        func window(inSegment k: Int) -> RowWindow {
            .times(from: times[k * Segments.values], through: times[min(rows, (k + 1) * Segments.values) - 1])
        }
        for k in 0..<segments {
            var damaged = bytes
            damaged[segmentStart(k)] ^= 0x04  // its first miniblock's width
            for j in 0..<segments {
                if j == k {
                    #expect(throws: StrataError.self) { _ = try read(damaged, window(inSegment: j)) }
                } else {
                    #expect(throws: Never.self) { _ = try read(damaged, window(inSegment: j)) }
                }
            }
            #expect(throws: StrataError.self) { _ = try read(damaged, .all) }
            let r = MappedRegion.copying(damaged)
            let d = try BlockHeader.parse(r, at: 0)
            #expect(throws: StrataError.self) { try withExtendedLifetime(r) { try d.checkWholeChunk(1, what: { "test" }) } }
            // A bit of a value flipped: with checksums off (`checkChecksums`) a read that ends inside
            // the segment does not check it, as it does not check a chunk's.
            var flipped = bytes
            flipped[segmentStart(k) + 1] ^= 0x01
            let base = k * Segments.values, half = (min(rows, base + Segments.values) - base) / 2
            let inside = RowWindow.times(from: times[base], through: times[base + half])
            #expect(throws: StrataError.self) { _ = try read(flipped, inside) }
            #expect(throws: Never.self) { _ = try read(flipped, inside, checksums: false) }
        }
        // A byte of the table: the chunk's own checksum.
        var table = bytes
        table[chunkStart + 8] ^= 0x01
        #expect(throws: StrataError.self) { _ = try read(table, window(inSegment: 0)) }
        // Segment 1's running value off by one, every checksum made to match: a read that ends
        // inside segment 0 does not see it, one through the end of segment 0 does.
        var anchor = bytes
        anchor[chunkStart + 20 + 4] &+= 1
        let head = anchor.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[chunkStart..<miniblocks])) }
        let descriptor = h.offset + BlockFormat.fixedHeaderBytes + 1 * BlockFormat.descriptorBytes + 24
        withUnsafeBytes(of: head.littleEndian) { for i in 0..<8 { anchor[descriptor + i] = $0[i] } }
        BlockHeader.sealChecksum(&anchor)
        #expect(throws: Never.self) { _ = try read(anchor, .times(from: times[0], through: times[100])) }
        #expect(throws: StrataError.self) { _ = try read(anchor, window(inSegment: 0)) }
        #expect(throws: StrataError.self) { _ = try read(anchor, .all) }
    }

    @Test func blockHeaderChecksumCoversEveryByte() throws {
        var encoder = BlockEncoder()
        let times: [Int64] = (0..<100).map { Int64($0) * 60_000 }
        let cols: [[Int64]] = [(0..<100).map { Int64(bitPattern: (Double($0) / 8).bitPattern) }, (0..<100).map { Int64($0) * 100 }]
        let bytes = encoder.encode(tableID: 1, symbolID: 0, times: times, columns: cols.map { ColumnBuffer(bits: $0) }, ids: [0, 1], types: [.float64, .int64])
        let region = MappedRegion.copying(bytes)
        let header = try BlockHeader.parse(region, at: 0)
        withExtendedLifetime(region) { #expect(header.rows == 100 && header.chunks.count == 3) }
        for i in 0..<header.headerBytes {
            var damaged = bytes
            damaged[i] ^= 0x10
            #expect(throws: StrataError.self) {
                _ = try BlockHeader.parse(.copying(damaged), at: 0)
            }
        }
    }
}

/// The block index against an array: appends, replacements of every kind (inserts, removals, both,
/// at the start, in the middle, at the end, across segment edges), and old versions that stay as
/// they were while newer ones append and replace, also after the writer goes back to an old version
/// (a rolled-back transaction) and goes on from there.
@Suite struct BlockListTests {
    static func ref(_ n: Int) -> BlockRef {
        BlockRef(file: UInt32(n % 7), offset: UInt64(n), length: 1, rows: 1, firstTime: Int64(n), lastTime: Int64(n))
    }

    @Test(arguments: 0..<6)
    func replacementsMatchAnArray(seed: UInt64) {
        var rng = SplitMix(seed: seed &+ 31)
        var list = BlockList()
        var model: [BlockRef] = []
        var versions: [(BlockList, [BlockRef])] = []
        var next = 0
        for _ in 0..<400 {
            if rng.next() % 3 == 0 {
                let n = Int(rng.next() % 1500)
                for _ in 0..<n { list.append(Self.ref(next)); model.append(Self.ref(next)); next += 1 }
            } else {
                let lo = model.isEmpty ? 0 : Int(rng.next() % UInt64(model.count + 1))
                let hi = lo + Int(rng.next() % UInt64(min(model.count - lo, 2500) + 1))
                let refs = (0..<Int(rng.next() % 1200)).map { _ in defer { next += 1 }; return Self.ref(next) }
                list.replaceSubrange(lo..<hi, with: refs)
                model.replaceSubrange(lo..<hi, with: refs)
            }
            #expect(list.count == model.count)
            if rng.next() % 8 == 0 { versions.append((list, model)) }
            if rng.next() % 20 == 0, let back = versions.randomElement(using: &rng) { (list, model) = back }
        }
        #expect(Array(list) == model)
        for (old, expected) in versions { #expect(Array(old) == expected, "an older version changed") }
    }
}
