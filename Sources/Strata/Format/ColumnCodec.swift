import CStrataKernels

/// How one column chunk of a block is encoded. The pipeline, applied in this order when encoding
/// (Format.md, "Column encodings"):
///
/// 1. Float64 only: `decimal` — value × 10^scale as an exact Int64; otherwise the raw IEEE bits.
/// 2. `delta` (x[i] − x[i−1], wrapping, x[−1] = 0) or `xor` (x[i] ^ x[i−1]) or neither.
/// 3. Divide by `divisor` (the GCD of the step-2 values; 1 when not used). Exact by construction.
/// 4. `zigzag` ((n << 1) ^ (n >> 63)).
/// 5. `shuffle`: byte-transpose the 8-byte words (all first bytes, then all second bytes, ...),
///    or `bitpack`: miniblocks of 128 values, each a width byte and the values in that many bits.
/// 6. `lz4`: one LZ4 block (liblz4's block format).
///
/// A time column may instead be stored as runs (`runs`, descriptor byte 3 = 1; `TimeRuns`), then
/// optionally LZ4, with no other flag. A value column's bit-packed chunk without LZ4 may be stored
/// in segments (`segmented`, descriptor byte 3 = 2; `Segments`).
struct Encoding: Equatable, Sendable {
    var flags: UInt8
    var scale: UInt8 = 0
    var divisor: Int64 = 1
    /// The runs layout (format 5) instead of the pipeline; only `lz4` may be set with it.
    var runs = false
    /// The segments layout (format 6, `Segments`): bit-packed values without LZ4, in segments
    /// behind a table.
    var segmented = false

    static let delta: UInt8 = 1
    static let xor: UInt8 = 2
    static let zigzag: UInt8 = 4
    static let shuffle: UInt8 = 8
    static let lz4: UInt8 = 16
    static let decimal: UInt8 = 32
    static let bitpack: UInt8 = 64
    /// The values are residuals from a prediction made of other columns of the block (`Prediction`).
    static let predicted: UInt8 = 128
    static let knownFlags: UInt8 = 255
    static let miniblockValues = 128

    /// Largest pre-LZ4 length of a chunk of `rows` values.
    static func rawLengthMax(rows: Int) -> Int { rows * 8 + (rows + miniblockValues - 1) / miniblockValues }

    func has(_ flag: UInt8) -> Bool { flags & flag != 0 }

    var summary: String {
        if runs { return has(Self.lz4) ? "runs+lz4" : "runs" }
        var parts: [String] = []
        if has(Self.predicted) { parts.append("predicted") }
        if has(Self.decimal) { parts.append("decimal(\(scale))") }
        if has(Self.delta) { parts.append("delta") }
        if has(Self.xor) { parts.append("xor") }
        if divisor != 1 { parts.append("gcd(\(divisor))") }
        if has(Self.zigzag) { parts.append("zigzag") }
        if has(Self.shuffle) { parts.append("shuffle") }
        if has(Self.bitpack) { parts.append(segmented ? "bitpack+segments" : "bitpack") }
        if has(Self.lz4) { parts.append("lz4") }
        return parts.isEmpty ? "plain" : parts.joined(separator: "+")
    }
}

/// Powers of ten as exact doubles, for the decimal encoding: 10^0 … 10^`Limits.decimalScaleMax`.
/// Literals, laid out at compile time (an array built by a closure is initialised lazily: a
/// `swift_once` call at every use).
let powersOfTen: [Double] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]

/// Reusable buffers for encoding, so that sealing a block allocates nothing once warm.
struct EncoderScratch {
    var ints: [UInt64] = []
    var transformed: [UInt64] = []
    var shuffled: [UInt8] = []
    var compressed: [UInt8] = []
    var best: [UInt8] = []
    var sample: [UInt64] = []
}

enum ColumnCodec {
    /// Finds the smallest decimal scale at which every value is exactly Int64 / 10^scale,
    /// writing the scaled integers into `out` (its contents unspecified when nil: NaN, ±inf, -0.0,
    /// too many digits).
    /// One pass at the scale found so far; a value that needs a larger one raises it and starts over
    /// (at most `Limits.decimalScaleMax` times, mostly once: the first prices may end in a zero).
    static func decimalScale(_ values: UnsafeBufferPointer<Int64>, into out: inout [UInt64]) -> Int? {
        let n = values.count
        if out.count < n { out.append(contentsOf: repeatElement(0, count: n - out.count)) }
        if out.count > n { out.removeLast(out.count - n) }
        guard n > 0, let source = values.baseAddress else { return 0 }
        return out.withUnsafeMutableBufferPointer { o -> Int? in
            o.withMemoryRebound(to: Int64.self) { o -> Int? in
                var k = 0
                var i = 0
                while i < n {
                    let p = powersOfTen[k]
                    // The common case in C (`strata_decimal_prefix`), the rest (large values) here.
                    while i < n {
                        i = strata_decimal_prefix(source, i, n, p, o.baseAddress!)
                        guard i < n, let x = scaled(Double(bitPattern: UInt64(bitPattern: values[i])), p) else { break }
                        o[i] = x
                        i += 1
                    }
                    if i == n { break }
                    let v = Double(bitPattern: UInt64(bitPattern: values[i]))
                    repeat {
                        k += 1
                        if k > Limits.decimalScaleMax { return nil }
                    } while scaled(v, powersOfTen[k]) == nil
                    i = 0
                }
                return k
            }
        }
    }

    /// `v` × `p` (10^k) as an integer when `Double(x) / p` gives back exactly `v` (never for -0.0).
    @inline(__always)
    static func scaled(_ v: Double, _ p: Double) -> Int64? {
        let t = v * p
        // Below 2^51, adding and taking away 1.5 × 2^52 rounds to the nearest integer in two
        // additions (libm's round is a call); a tie may round the other way, which the check below
        // refuses as it would any wrong integer.
        let magic = 6_755_399_441_055_744.0
        let s = abs(t) < 2_251_799_813_685_248 ? (t + magic) - magic : t.rounded()
        guard s.isFinite, abs(s) < 9_007_199_254_740_992 else { return nil }  // 2^53
        let x = Int64(s)
        return (Double(x) / p).bitPattern == v.bitPattern ? x : nil
    }

    /// What a chunk holds, which decides the candidate encodings the writer tries.
    enum Kind {
        case time
        case int64
        case float64
        /// Non-negative small integers: a text column's dictionary codes, or null row numbers.
        case codes

        /// The kind of a value column of `type` (a text column's codes), or of the time column.
        init(_ type: ColumnType, isTime: Bool = false) {
            switch type {
            case _ where isTime: self = .time
            case .int64: self = .int64
            case .float64: self = .float64
            case .string: self = .codes
            }
        }
    }

    /// Encodes `values` (Int64 values or Float64 bit patterns) and appends the stored bytes to `payload`.
    static func encode(
        _ values: UnsafeBufferPointer<Int64>, kind: Kind, scratch: inout EncoderScratch, payload: inout [UInt8]
    ) -> (Encoding, rawLength: Int) {
        if kind == .time, TimeRuns.find(values, into: &scratch.transformed) {
            var encoding = Encoding(flags: 0, runs: true)
            payload.append(contentsOf: pack(scratch.transformed, encoding: &encoding, scratch: &scratch))
            return (encoding, scratch.shuffled.count)
        }
        var base: UInt8 = 0
        var scale: UInt8 = 0
        var candidates: [(UInt8, Bool)]  // (step-2 flag, use gcd)
        if kind == .float64, let k = decimalScale(values, into: &scratch.ints) {
            base = Encoding.decimal
            scale = UInt8(k)
            candidates = integerCandidates
        } else {
            scratch.ints.removeAll(keepingCapacity: true)
            scratch.ints.append(contentsOf: values.lazy.map { UInt64(bitPattern: $0) })
            switch kind {
            case .float64: candidates = [(0, false), (Encoding.xor | Encoding.shuffle, false)]
            case .time: candidates = [(Encoding.delta, true), (Encoding.delta | Encoding.shuffle, true)]
            case .int64: candidates = integerCandidates
            case .codes: candidates = [(Encoding.bitpack, false), (Encoding.delta | Encoding.bitpack, true)]
            }
        }
        return encodeCandidates(
            candidates, base: base, scale: scale, segmentable: kind == .int64 || kind == .float64, scratch: &scratch, payload: &payload)
    }

    /// The candidate encodings of decimal and integer columns.
    static let integerCandidates: [(UInt8, Bool)] = [
        (Encoding.delta | Encoding.bitpack, true), (Encoding.delta | Encoding.shuffle, true), (Encoding.shuffle, true),
    ]

    /// Encodes the integers in `scratch.ints` (a decimal column's residuals from a prediction) with
    /// the flags `decimal` and `predicted` at scale `scale`.
    static func encodePredicted(scale: Int, scratch: inout EncoderScratch, payload: inout [UInt8]) -> (Encoding, rawLength: Int) {
        encodeCandidates(
            integerCandidates, base: Encoding.decimal | Encoding.predicted, scale: UInt8(scale), segmentable: true, scratch: &scratch,
            payload: &payload)
    }

    /// Values a chunk's first rows give to choose its encoding by; chunks of fewer than twice as
    /// many try every candidate whole.
    static let sampleValues = 1_024

    /// In a chunk long enough for the segments layout, a candidate that would not go in segments
    /// (shuffled, or with LZ4) counts as this many 64ths larger than it is: an eighth. A chunk in
    /// segments is checked and unpacked by the segment a query reads, where a shuffled or LZ4 chunk
    /// is checked and decompressed whole. On the `large` preset's bars: 5.92 -> 6.02 bytes a bar
    /// (the peers' 5.65 -> 5.76), in-process Q4 (a month of every symbol) 9.2-10.2 -> 6.5-7.4 ms,
    /// Q6 86-93 -> 78-82, Q5 0.45-0.49 -> 0.43; a quarter measured no better.
    static let segmentPreference = 8

    /// Tries each candidate on `scratch.ints` and appends the smallest result to `payload`. A long
    /// chunk tries them on its first `sampleValues` values and encodes whole only the one that was
    /// smallest there (a function of the values alone, so the same rows give the same bytes
    /// whichever way they were written), counting the ones that would not go in segments larger
    /// (`segmentPreference`). A value column's (`segmentable`) bit-packed result without LZ4 goes in
    /// segments when it has two or more (`Segments`).
    private static func encodeCandidates(
        _ candidates: [(UInt8, Bool)], base: UInt8, scale: UInt8, segmentable: Bool, scratch: inout EncoderScratch,
        payload: inout [UInt8]
    ) -> (Encoding, rawLength: Int) {
        var candidates = candidates
        let inSegments = segmentable && Segments.worthwhile(values: scratch.ints.count)
        if candidates.count > 1 && scratch.ints.count >= 2 * sampleValues {
            scratch.sample.removeAll(keepingCapacity: true)
            scratch.sample.append(contentsOf: scratch.ints.prefix(sampleValues))
            var smallest = Int.max
            for candidate in candidates {
                var enc = Encoding(flags: base | candidate.0, scale: scale)
                transform(scratch.sample, encoding: &enc, useGCD: candidate.1, into: &scratch.transformed)
                var size = pack(scratch.transformed, encoding: &enc, scratch: &scratch).count
                if inSegments && !(enc.has(Encoding.bitpack) && !enc.has(Encoding.lz4)) { size += size * segmentPreference / 64 }
                if size < smallest { (smallest, candidates) = (size, [candidate]) }
            }
        }
        var rawLength = scratch.ints.count * 8
        var best: Encoding? = nil
        scratch.best.removeAll(keepingCapacity: true)
        for (flags, useGCD) in candidates {
            var enc = Encoding(flags: base | flags, scale: scale)
            transform(scratch.ints, encoding: &enc, useGCD: useGCD, into: &scratch.transformed)
            let stored = pack(scratch.transformed, encoding: &enc, scratch: &scratch)
            if best == nil || stored.count < scratch.best.count {
                best = enc
                scratch.best = stored
                rawLength = scratch.shuffled.count
            }
        }
        var encoding = best!
        if inSegments && encoding.has(Encoding.bitpack) && !encoding.has(Encoding.lz4) {
            encoding.segmented = true
            let accumulates = encoding.has(Encoding.delta) || encoding.has(Encoding.xor)
            payload.append(contentsOf: Segments.table(scratch.best, scratch.ints, accumulates: accumulates))
        }
        payload.append(contentsOf: scratch.best)
        return (encoding, rawLength)
    }

    /// Steps 2–4 of the pipeline.
    private static func transform(_ x: [UInt64], encoding: inout Encoding, useGCD: Bool, into t: inout [UInt64]) {
        let n = x.count
        if t.count < n { t.append(contentsOf: repeatElement(0, count: n - t.count)) }
        if t.count > n { t.removeLast(t.count - n) }
        x.withUnsafeBufferPointer { x in
            t.withUnsafeMutableBufferPointer { t in
                if encoding.has(Encoding.delta) {
                    if n > 0 { t[0] = x[0] }
                    for i in 1..<max(1, n) { t[i] = x[i] &- x[i - 1] }
                } else if encoding.has(Encoding.xor) {
                    if n > 0 { t[0] = x[0] }
                    for i in 1..<max(1, n) { t[i] = x[i] ^ x[i - 1] }
                } else {
                    _ = t.update(fromContentsOf: x)
                }
            }
        }
        if useGCD {
            var g: UInt64 = 0
            for v in t {
                let m = Int64(bitPattern: v).magnitude
                if g == 0 { g = m } else if m % g != 0 { g = gcd(g, m) }
                if g == 1 { break }
            }
            if g > 1 && g <= UInt64(Int64.max) {
                let d = Int64(g)
                encoding.divisor = d
                t.withUnsafeMutableBufferPointer { buf in
                    for i in buf.indices { buf[i] = UInt64(bitPattern: Int64(bitPattern: buf[i]) / d) }
                }
            }
        }
        var negative = false
        for v in t where Int64(bitPattern: v) < 0 { negative = true; break }
        if negative {
            encoding.flags |= Encoding.zigzag
            t.withUnsafeMutableBufferPointer { buf in
                for i in buf.indices {
                    let n = Int64(bitPattern: buf[i])
                    buf[i] = UInt64(bitPattern: (n << 1) ^ (n >> 63))
                }
            }
        }
    }

    private static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var a = a, b = b
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    /// Steps 5–6: shuffle, then LZ4 when it makes the chunk smaller; a bit-packed chunk, by at
    /// least a quarter (one without LZ4 is read from the segments a query needs, where LZ4 must
    /// decompress it whole: on the `large` preset's bars, 0.34% more bytes than with an eighth as
    /// the bar, and 10% fewer instructions for the latest row of every symbol).
    private static func pack(_ t: [UInt64], encoding: inout Encoding, scratch: inout EncoderScratch) -> [UInt8] {
        let n = t.count
        scratch.shuffled.removeAll(keepingCapacity: true)
        if encoding.has(Encoding.bitpack) {
            Bitpack.pack(t, into: &scratch.shuffled)
        } else if encoding.has(Encoding.shuffle) && n > 0 {  // (none: see `Array(gathering:at:)`)
            scratch.shuffled = [UInt8](unsafeUninitializedCapacity: n * 8) { out, count in
                t.withUnsafeBufferPointer { src in Self.shuffle(src, into: UnsafeMutableRawBufferPointer(out)) }
                count = n * 8
            }
        } else {
            #if _endian(little)
            t.withUnsafeBytes { scratch.shuffled.append(contentsOf: $0) }  // the values' bytes are their little-endian form
            #else
            t.withUnsafeBufferPointer { src in
                for v in src { withUnsafeBytes(of: v.littleEndian) { scratch.shuffled.append(contentsOf: $0) } }
            }
            #endif
        }
        let bound = LZ4.compressBound(scratch.shuffled.count)
        if scratch.compressed.count < bound { scratch.compressed = [UInt8](repeating: 0, count: bound) }
        let size = scratch.shuffled.withUnsafeBytes { src in
            scratch.compressed.withUnsafeMutableBytes { dst in LZ4.compress(src, into: dst) }
        }
        let raw = scratch.shuffled.count
        if size > 0 && size < (encoding.has(Encoding.bitpack) ? raw - raw / 4 : raw) {
            encoding.flags |= Encoding.lz4
            return Array(scratch.compressed[0..<size])
        }
        return scratch.shuffled
    }

    /// Decodes one chunk into `out` (`rows` values: Int64 values or Float64 bit patterns).
    /// `scratch` holds the LZ4 output. Throws on any inconsistency; never traps on bad bytes.
    /// With `descale` false, a decimal chunk is left as its scaled integers (value × 10^scale).
    /// With `limit`, only values `0 ..< limit` are finished (a scan that ends inside the block);
    /// the bytes are checked as for all `rows`, and the unpacking stops at the miniblock that holds
    /// the last one wanted. With `from`, values before it are left unspecified (a scan that starts
    /// inside the block): a chunk with no running value (no delta, no xor) is unpacked from there;
    /// one with a running value from there to its end when `last` (its last value as a step-1
    /// integer: `lastInteger`) is given and that is the shorter way, else from its start.
    /// A predicted chunk (`residuals`) decodes to its residuals, the caller adds the prediction.
    static func decode(
        _ stored: UnsafeRawBufferPointer, encoding: Encoding, rawLength: Int, rows: Int, from: Int = 0, limit: Int? = nil,
        last: Int64? = nil, into out: UnsafeMutableBufferPointer<Int64>, scratch: inout [UInt8], descale: Bool = true,
        residuals: Bool = false, checkSegments: Bool = true, what: () -> String
    ) throws(StrataError) {
        let limit = min(limit ?? rows, rows)
        let window = min(max(from, 0), limit)..<limit
        precondition(out.count >= rows)
        if encoding.runs {
            try decodeRuns(stored, encoding: encoding, rawLength: rawLength, rows: rows, scratch: &scratch, what: what) {
                (raw) throws(StrataError) in
                try TimeRuns.expand(raw, rows: rows, from: window.lowerBound, limit: limit, into: out, what: what)
            }
            return
        }
        if encoding.has(Encoding.predicted) != residuals {
            throw .damaged("\(what()): a prediction where none can be, or none where one must be")
        }
        if encoding.divisor < 1 { throw .damaged("\(what()): divisor \(encoding.divisor) is not positive") }
        if Int(encoding.scale) > Limits.decimalScaleMax { throw .damaged("\(what()): decimal scale \(encoding.scale) too large") }
        let bitpacked = encoding.has(Encoding.bitpack)
        if bitpacked ? rawLength > Encoding.rawLengthMax(rows: rows) : rawLength != rows * 8 {
            throw .damaged("\(what()): raw length \(rawLength) is impossible for \(rows) rows")
        }
        if encoding.segmented {
            try Segments.decode(
                stored, encoding: encoding, rawLength: rawLength, rows: rows, window: window, last: last, into: out, check: checkSegments,
                what: what)
            if descale && encoding.has(Encoding.decimal) { Self.descale(out, window, powersOfTen[Int(encoding.scale)]) }
            return
        }
        if encoding.has(Encoding.lz4) {
            if scratch.count < rawLength { scratch.resizeForOverwrite(to: rawLength) }
            let ok = scratch.withUnsafeMutableBytes { dst in
                LZ4.decompress(stored, into: UnsafeMutableRawBufferPointer(rebasing: dst[0..<rawLength]))
            }
            if !ok { throw .damaged("\(what()): LZ4 data does not decompress to \(rawLength) bytes") }
            try scratch.withBytes { (raw) throws(StrataError) in
                try unpack(
                    UnsafeRawBufferPointer(rebasing: raw[0..<rawLength]), encoding: encoding, rows: rows, window: window, last: last,
                    into: out, descale: descale, what: what)
            }
        } else {
            if stored.count != rawLength {
                throw .damaged("\(what()): stored length \(stored.count) is not the raw length \(rawLength)")
            }
            try unpack(stored, encoding: encoding, rows: rows, window: window, last: last, into: out, descale: descale, what: what)
        }
    }

    /// Lends the raw bytes of a chunk in the runs layout to `body`, decompressed into `scratch`
    /// when LZ4 was applied, after checking the encoding and the lengths.
    private static func decodeRuns(
        _ stored: UnsafeRawBufferPointer, encoding: Encoding, rawLength: Int, rows: Int, scratch: inout [UInt8],
        what: () -> String, _ body: (UnsafeRawBufferPointer) throws(StrataError) -> Void
    ) throws(StrataError) {
        if encoding.flags & ~Encoding.lz4 != 0 || encoding.divisor != 1 || encoding.scale != 0 {
            throw .damaged("\(what()): time runs with other encoding steps")
        }
        if rawLength == 0 || rawLength % TimeRuns.bytesPerRun != 0 || rawLength > rows * 8 {
            throw .damaged("\(what()): raw length \(rawLength) is impossible for time runs of \(rows) rows")
        }
        guard encoding.has(Encoding.lz4) else {
            if stored.count != rawLength {
                throw .damaged("\(what()): stored length \(stored.count) is not the raw length \(rawLength)")
            }
            return try body(stored)
        }
        if scratch.count < rawLength { scratch.resizeForOverwrite(to: rawLength) }
        let ok = scratch.withUnsafeMutableBytes { dst in
            LZ4.decompress(stored, into: UnsafeMutableRawBufferPointer(rebasing: dst[0..<rawLength]))
        }
        if !ok { throw .damaged("\(what()): LZ4 data does not decompress to \(rawLength) bytes") }
        try scratch.withBytes { (raw) throws(StrataError) in try body(UnsafeRawBufferPointer(rebasing: raw[0..<rawLength])) }
    }

    /// A time column in the runs layout (times from `first` to `last`), for the rows of `window`:
    /// the rows at or before its end (`wanted`) and its first row (`first`) are counted from the
    /// runs, and only the times of the rows between computed.
    static func decodeTimeRuns(
        _ stored: UnsafeRawBufferPointer, encoding: Encoding, rawLength: Int, rows: Int, first firstTime: Int64, last: Int64,
        window: RowWindow, into out: UnsafeMutableBufferPointer<Int64>, scratch: inout [UInt8], what: () -> String
    ) throws(StrataError) -> (first: Int, wanted: Int) {
        precondition(out.count >= rows)
        var counts = (first: 0, wanted: rows)
        try decodeRuns(stored, encoding: encoding, rawLength: rawLength, rows: rows, scratch: &scratch, what: what) {
            (raw) throws(StrataError) in
            let through = window.through
            let wanted = last > through ? try TimeRuns.rows(raw, rows: rows, atOrBefore: through, what: what) : rows
            var first = 0
            switch window {
            case .times(let from, _):
                if from > firstTime { first = min(wanted, try TimeRuns.rows(raw, rows: rows, atOrBefore: from - 1, what: what)) }
            case .lastAtOrBefore: first = max(0, wanted - 1)
            }
            try TimeRuns.expand(raw, rows: rows, from: first, limit: wanted, into: out, what: what)
            counts = (first, wanted)
        }
        return counts
    }

    /// The time column of a block a scan leaves before its end (its last time past `through`),
    /// when the chunk is delta (+ divisor, zigzag) + LZ4 with nothing else: only an estimate of the
    /// rows up to `through` is decompressed (by the time range, assuming rows spread evenly, plus
    /// 1,024) and summed. Returns the rows at or before `through` when they all lie in that prefix;
    /// nil when the estimate falls short or the encoding is another (then decode it whole).
    static func decodeTimesPrefix(
        _ stored: UnsafeRawBufferPointer, encoding: Encoding, rawLength: Int, rows: Int, first: Int64, last: Int64,
        through: Int64, into out: UnsafeMutableBufferPointer<Int64>, scratch: inout [UInt8]
    ) -> Int? {
        if encoding.runs { return nil }
        let other = Encoding.knownFlags & ~(Encoding.delta | Encoding.zigzag | Encoding.lz4)
        guard encoding.has(Encoding.delta), encoding.has(Encoding.lz4), encoding.flags & other == 0, rawLength == rows * 8,
            through >= first, through < last
        else { return nil }
        let share = (Double(through) - Double(first)) / (Double(last) - Double(first))
        guard share.isFinite else { return nil }
        let prefix = min(rows, Int(min(max(share, 0), 1) * Double(rows)) + 1_024)
        if prefix >= rows { return nil }
        if scratch.count < rawLength { scratch.resizeForOverwrite(to: rawLength) }
        let zigzag = encoding.has(Encoding.zigzag), d = encoding.divisor
        return scratch.withUnsafeMutableBytes { raw -> Int? in
            guard LZ4.decompressPrefix(stored, prefix * 8, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<rawLength])) else { return nil }
            var acc: Int64 = 0
            @inline(__always) func sum(zigzag: Bool) {
                for j in 0..<prefix {
                    let u = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: j * 8, as: UInt64.self))
                    out[j] = step(u, &acc, zigzag: zigzag, divisor: d, mode: .delta)
                }
            }
            if zigzag { sum(zigzag: true) } else { sum(zigzag: false) }
            let n = partitionPoint(in: 0..<prefix) { out[$0] > through }
            return n < prefix ? n : nil
        }
    }

    /// Undoes steps 5 to 1 on `rows * 8` raw bytes, for the values in `window` (at least; see
    /// `decode` for `last`).
    private static func unpack(
        _ raw: UnsafeRawBufferPointer, encoding: Encoding, rows n: Int, window: Range<Int>, last: Int64?,
        into out: UnsafeMutableBufferPointer<Int64>, descale: Bool, what: () -> String
    ) throws(StrataError) {
        let zigzag = encoding.has(Encoding.zigzag)
        let d = encoding.divisor
        let mode: Accumulate = encoding.has(Encoding.delta) ? .delta : encoding.has(Encoding.xor) ? .xor : .none
        let bitpacked = encoding.has(Encoding.bitpack)
        let span = span(window, rows: n, mode: mode, last: last, align: bitpacked ? Encoding.miniblockValues : 8)
        var end: Int64 = 0  // the running value at the span's end
        if bitpacked {
            // Steps 5 to 2 fused: each miniblock is finished as it is unpacked.
            guard let acc = Bitpack.unpack(raw, count: n, range: span, store: window, into: out, zigzag: zigzag, divisor: d, mode: mode) else {
                throw .damaged("\(what()): bit-packed data is malformed")
            }
            end = acc
        } else if encoding.has(Encoding.shuffle) {
            guard let src = raw.baseAddress, let dst = out.baseAddress else { return }
            Self.unshuffle(src, n, span, into: dst)
        } else {
            for j in span {
                out[j] = Int64(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: j * 8, as: UInt64.self)))
            }
        }
        // Steps 4 to 2 (done already for bit-packed chunks) in one pass over the block (it stays in cache),
        // one loop per combination so that no flag is tested per value; then step 1 in a second pass.
        if !bitpacked {
            switch (zigzag, mode) {
            case (true, .delta): integers(out, span, zigzag: true, divisor: d, mode: .delta)
            case (true, .xor): integers(out, span, zigzag: true, divisor: d, mode: .xor)
            case (true, .none): integers(out, span, zigzag: true, divisor: d, mode: .none)
            case (false, .delta): integers(out, span, zigzag: false, divisor: d, mode: .delta)
            case (false, .xor): integers(out, span, zigzag: false, divisor: d, mode: .xor)
            case (false, .none): if d != 1 { integers(out, span, zigzag: false, divisor: d, mode: .none) }
            }
        }
        if span.lowerBound > 0, mode != .none, let last { rebase(out, window, end: bitpacked ? end : out[n - 1], last: last, mode: mode) }
        if descale && encoding.has(Encoding.decimal) { Self.descale(out, window, powersOfTen[Int(encoding.scale)]) }
    }

    /// The values `unpack` decodes to finish `window`, starting on a multiple of `align`: from
    /// the window's start when no running value is kept; with one (delta, xor), from there to
    /// the chunk's end when its last value is known and that is fewer values than from the start
    /// to the window's end (`rebase` then fixes the running value); else from the start.
    static func span(_ window: Range<Int>, rows n: Int, mode: Accumulate, last: Int64?, align: Int) -> Range<Int> {
        let start = window.lowerBound / align * align
        if start == 0 || window.isEmpty { return 0..<window.upperBound }
        if mode == .none { return start..<window.upperBound }
        if last != nil && n - start < window.upperBound { return start..<n }
        return 0..<window.upperBound
    }

    /// Values decoded from the middle of a chunk to its end, their running value started at 0:
    /// shifts the ones in `window` by what makes the chunk's last value (`end`, the running value
    /// at the end as decoded) `last`.
    static func rebase(_ out: UnsafeMutableBufferPointer<Int64>, _ window: Range<Int>, end: Int64, last: Int64, mode: Accumulate) {
        switch mode {
        case .delta:
            let offset = last &- end
            for j in window { out[j] = out[j] &+ offset }
        case .xor:
            let offset = last ^ end
            for j in window { out[j] ^= offset }
        case .none: break
        }
    }

    /// A chunk's last value as the integer its pipeline ends with (step 1 done: a decimal
    /// column's value × 10^scale), from its statistics: what `decode` needs to decode a delta or
    /// xor chunk from its end (a predicted chunk's residual is this less the prediction of the
    /// last row: `DecodedBlock.decodePredicted`). Nil when the chunk has nulls (`last` is then the
    /// last value, not the last row's), is text, or the decimal integer cannot be recovered from
    /// the Float64 exactly and uniquely (|integer| < 2^51, so that no two integers give the same
    /// Float64).
    static func lastInteger(_ chunk: ChunkDescriptor) -> Int64? {
        if chunk.nullCount > 0 || chunk.type == .string { return nil }
        let bits = chunk.stats.last
        guard chunk.type == .float64 && chunk.encoding.has(Encoding.decimal) else { return bits }
        guard Int(chunk.encoding.scale) <= Limits.decimalScaleMax else { return nil }
        let p = powersOfTen[Int(chunk.encoding.scale)]
        let v = Double(bitPattern: UInt64(bitPattern: bits))
        let x = (v * p).rounded()
        guard x.magnitude < 0x1p51 else { return nil }
        let i = Int64(x)
        return (Double(i) / p).bitPattern == v.bitPattern ? i : nil
    }

    /// Transposes the 8 × 8 byte matrix whose rows are `r.0` … `r.7` (byte b of row a becomes byte
    /// a of row b), in three rounds of swaps (bytes, pairs, quads). Its own inverse: it shuffles
    /// eight values into their byte planes, and back.
    @inline(__always)
    private static func transpose8x8(
        _ r: inout (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    ) {
        @inline(__always) func swap(_ a: inout UInt64, _ b: inout UInt64, _ shift: UInt64, _ mask: UInt64) {
            let t = ((a &>> shift) ^ b) & mask
            b ^= t
            a ^= t &<< shift
        }
        swap(&r.0, &r.1, 8, 0x00FF_00FF_00FF_00FF)
        swap(&r.2, &r.3, 8, 0x00FF_00FF_00FF_00FF)
        swap(&r.4, &r.5, 8, 0x00FF_00FF_00FF_00FF)
        swap(&r.6, &r.7, 8, 0x00FF_00FF_00FF_00FF)
        swap(&r.0, &r.2, 16, 0x0000_FFFF_0000_FFFF)
        swap(&r.1, &r.3, 16, 0x0000_FFFF_0000_FFFF)
        swap(&r.4, &r.6, 16, 0x0000_FFFF_0000_FFFF)
        swap(&r.5, &r.7, 16, 0x0000_FFFF_0000_FFFF)
        swap(&r.0, &r.4, 32, 0x0000_0000_FFFF_FFFF)
        swap(&r.1, &r.5, 32, 0x0000_0000_FFFF_FFFF)
        swap(&r.2, &r.6, 32, 0x0000_0000_FFFF_FFFF)
        swap(&r.3, &r.7, 32, 0x0000_0000_FFFF_FFFF)
    }

    /// The byte shuffle (step 5): byte b of value j to `b × n + j` of `out` (`n × 8` bytes), eight
    /// values at a time through `transpose8x8`.
    private static func shuffle(_ src: UnsafeBufferPointer<UInt64>, into out: UnsafeMutableRawBufferPointer) {
        let n = src.count
        var j = 0
        while j + 8 <= n {
            var r = (src[j], src[j + 1], src[j + 2], src[j + 3], src[j + 4], src[j + 5], src[j + 6], src[j + 7])
            transpose8x8(&r)  // byte i (numerically) of the eight values is row i; stored little-endian
            out.storeBytes(of: r.0.littleEndian, toByteOffset: j, as: UInt64.self)
            out.storeBytes(of: r.1.littleEndian, toByteOffset: n + j, as: UInt64.self)
            out.storeBytes(of: r.2.littleEndian, toByteOffset: 2 * n + j, as: UInt64.self)
            out.storeBytes(of: r.3.littleEndian, toByteOffset: 3 * n + j, as: UInt64.self)
            out.storeBytes(of: r.4.littleEndian, toByteOffset: 4 * n + j, as: UInt64.self)
            out.storeBytes(of: r.5.littleEndian, toByteOffset: 5 * n + j, as: UInt64.self)
            out.storeBytes(of: r.6.littleEndian, toByteOffset: 6 * n + j, as: UInt64.self)
            out.storeBytes(of: r.7.littleEndian, toByteOffset: 7 * n + j, as: UInt64.self)
            j += 8
        }
        while j < n {
            var w = src[j]
            for i in 0..<8 {
                out[i * n + j] = UInt8(truncatingIfNeeded: w)
                w >>= 8
            }
            j += 1
        }
    }

    /// Undoes the byte shuffle for values `range` of the `n` (`strata_unshuffle`: sixteen values at
    /// a time through SSE2's interleaves; in Swift, eight at a time through `transpose8x8`, it was 7%
    /// of a full scan's time).
    private static func unshuffle(_ src: UnsafeRawPointer, _ n: Int, _ range: Range<Int>, into dst: UnsafeMutablePointer<Int64>) {
        strata_unshuffle(src.assumingMemoryBound(to: UInt8.self), n, range.lowerBound, range.upperBound, dst)
    }

    enum Accumulate { case none, delta, xor }

    /// Zigzag, divisor, then delta or xor, on the values `range` in place (the running value
    /// starting at 0).
    @inline(__always)
    private static func integers(
        _ out: UnsafeMutableBufferPointer<Int64>, _ range: Range<Int>, zigzag: Bool, divisor d: Int64, mode: Accumulate
    ) {
        guard let p = out.baseAddress else { return }
        var acc: Int64 = 0
        for j in range { p[j] = step(UInt64(bitPattern: p[j]), &acc, zigzag: zigzag, divisor: d, mode: mode) }
    }

    /// Steps 4 to 2 on one value.
    @inline(__always)
    static func step(_ u: UInt64, _ acc: inout Int64, zigzag: Bool, divisor d: Int64, mode: Accumulate) -> Int64 {
        var v = zigzag ? Int64(bitPattern: u &>> 1) ^ (0 &- Int64(bitPattern: u & 1)) : Int64(bitPattern: u)
        v = v &* d
        switch mode {
        case .none: return v
        case .delta: acc = acc &+ v; return acc
        case .xor: acc ^= v; return acc
        }
    }

    /// Step 1 of a decimal column: the integer v becomes the Float64 v / 10^scale (the division the
    /// encoder checked to be exact). When every |v| < 2^51, v converts through the 1.5 × 2^52 bit trick
    /// (exact in that range), which vectorises; otherwise through the plain conversion.
    private static func descale(_ out: UnsafeMutableBufferPointer<Int64>, _ range: Range<Int>, _ scale: Double) {
        guard let p = out.baseAddress else { return }
        var outside: UInt64 = 0
        for j in range { outside |= UInt64(bitPattern: p[j] &+ (1 << 51)) &>> 52 }
        if outside == 0 {
            let magic: Int64 = 0x4338_0000_0000_0000  // the bits of 1.5 × 2^52
            let magicValue = 6_755_399_441_055_744.0
            for j in range {
                let x = Double(bitPattern: UInt64(bitPattern: p[j] &+ magic)) - magicValue
                p[j] = Int64(bitPattern: (x / scale).bitPattern)
            }
        } else {
            for j in range { p[j] = Int64(bitPattern: (Double(p[j]) / scale).bitPattern) }
        }
    }
}

/// One column chunk encoded the way blocks store it, for the encoder and decoder benchmarks.
/// Not part of the stable API (`@_spi(Benchmarks) import Strata`).
@_spi(Benchmarks)
public struct EncodedColumn: Sendable {
    /// The number of values encoded.
    public let rows: Int
    /// Stored bytes (after LZ4 when it was chosen).
    public var bytes: Int { payload.count }
    /// The encoding chosen, as `strata info` names it.
    public var encodingName: String { encoding.summary }
    let payload: [UInt8]
    let encoding: Encoding
    let rawLength: Int
    /// The last value as a scan would have it from the block's statistics (`ColumnCodec.lastInteger`).
    let last: Int64?

    /// Encodes `values` (Int64, or Float64 bit patterns) as one block column.
    public init(_ values: [Int64], type: ColumnType, isTime: Bool = false) {
        var scratch = EncoderScratch()
        var payload: [UInt8] = []
        let (encoding, raw) = values.withUnsafeBufferPointer {
            ColumnCodec.encode($0, kind: ColumnCodec.Kind(type, isTime: isTime), scratch: &scratch, payload: &payload)
        }
        self.rows = values.count
        self.payload = payload
        self.encoding = encoding
        self.rawLength = raw
        var stats = ColumnStats()
        stats.last = values.last ?? 0
        last = ColumnCodec.lastInteger(
            ChunkDescriptor(
                type: type, encoding: encoding, rawLength: UInt32(raw), storedLength: UInt32(payload.count), offset: 0, hash: 0,
                stats: stats, columnID: 0, nullCount: 0))
    }

    /// Decodes into `out` (at least `rows` long), with `scratch` for the LZ4 output: every row, or
    /// those of `window` only, as a scan that starts and ends inside the block does.
    public func decode(into out: inout [Int64], window: Range<Int>? = nil, scratch: inout [UInt8]) throws(StrataError) {
        try payload.withBytes { (stored) throws(StrataError) in
            try out.withUnsafeMutableBufferPointer { (p) throws(StrataError) in
                try ColumnCodec.decode(
                    stored, encoding: encoding, rawLength: rawLength, rows: rows, from: window?.lowerBound ?? 0, limit: window?.upperBound,
                    last: last, into: p, scratch: &scratch, what: { "benchmark" })
            }
        }
    }
}
