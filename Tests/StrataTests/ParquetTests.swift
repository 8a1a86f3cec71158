import Foundation
import Testing
@testable import Strata
@testable import StrataTools

/// Parquet out and in without other engines: the Thrift compact protocol and the RLE hybrid against
/// their own round trips over random input; export then import of random tables (nulls at every
/// rate, text, NaN, -0.0, 5e-324, Int64 extremes, leading-zero, UTF-8 and path-hostile symbols,
/// every layout and codec, small row groups and pages) back to identical rows; and damaged files
/// (byte flips, truncations) that must end in a clear error with nothing imported, never a crash.
@Suite struct ParquetTests {
    @Test(arguments: 0..<4) func thriftRoundTrips(seed: UInt64) throws {
        var rng = SplitMix(seed: 100 + seed)
        for _ in 0..<200 {
            var w = ThriftWriter()
            var expected: [Int16: Int64] = [:]
            var texts: [Int16: [UInt8]] = [:]
            var lists: [Int16: [Int64]] = [:]
            var id: Int16 = 0
            w.structValue { s in
                for _ in 0..<Int(rng.next() % 12) {
                    id += Int16(1 + rng.next() % (rng.next() % 2 == 0 ? 3 : 40))  // small and large deltas
                    switch rng.next() % 4 {
                    case 0:
                        let v = Int64(bitPattern: rng.next()) >> (rng.next() % 64)
                        s.i64(id, v)
                        expected[id] = v
                    case 1:
                        let v = Int32(truncatingIfNeeded: Int64(bitPattern: rng.next()) >> (rng.next() % 64))
                        s.i32(id, v)
                        expected[id] = Int64(v)
                    case 2:
                        let b = (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                        s.binary(id, b)
                        texts[id] = b
                    default:
                        let l = (0..<Int(rng.next() % 20)).map { _ in Int32(truncatingIfNeeded: Int64(bitPattern: rng.next()) >> 40) }
                        s.i32List(id, l)
                        lists[id] = l.map(Int64.init)
                    }
                }
                s.structField(id + 1) { n in n.bool(1, true) }
            }
            let parsed = try w.bytes.withUnsafeBytes { b in
                var r = ThriftReader(b)
                return try r.readStruct()
            }
            for (k, v) in expected { #expect(parsed.int(k) == v) }
            for (k, v) in texts { #expect(parsed.binary(k) == v) }
            for (k, v) in lists { #expect(parsed.ints(k) == v) }
            #expect(parsed.structure(id + 1)?.bool(1) == true)
        }
    }

    @Test(arguments: 0..<4) func hybridRoundTrips(seed: UInt64) throws {
        var rng = SplitMix(seed: 200 + seed)
        for _ in 0..<300 {
            let width = Int(rng.next() % 21)
            let limit: UInt64 = width == 0 ? 1 : 1 << UInt64(width)
            var values: [UInt32] = []
            while values.count < Int(rng.next() % 600) {
                let v = UInt32(rng.next() % limit)
                values += repeatElement(v, count: rng.next() % 3 == 0 ? Int(rng.next() % 40) : 1)
            }
            var bytes: [UInt8] = []
            ParquetEncoding.encodeHybrid(values, width: width, into: &bytes)
            var back: [UInt32] = []
            try bytes.withUnsafeBytes { b in
                try ParquetEncoding.decodeHybrid(b, width: width, count: values.count, limit: UInt32(min(limit, 1 << 32 - 1)), into: &back)
            }
            #expect(back == values, "width \(width)")
        }
    }

    static let symbols = ["000001", "510300", "银华日利", "a/b", "x=1", ".", "..", "%41", "with space"]

    /// A random table: its rows as exact text per row, written through the API.
    static func randomTable(_ db: Database, seed: UInt64, unit: TimeUnit) throws -> [String] {
        var rng = SplitMix(seed: seed)
        let types: [ColumnType] = [.float64, .int64, .string, .float64]
        let nullRates = [0, 5, 50, 100].shuffled(using: &rng)
        try db.write { tx in
            try tx.createTable("t", schema: Schema(
                timeUnit: unit, columns: types.enumerated().map { Column("c\($0.offset)", $0.element) }))
            for s in symbols.prefix(3 + Int(seed % 6)) {
                var t = Int64(rng.next() % 1000) * 86_400 * unit.perSecond - 40 * 86_400 * unit.perSecond
                for _ in 0..<Int(50 + rng.next() % 400) {
                    t += Int64(1 + rng.next() % 3) * 3_600 * unit.perSecond * Int64(1 + rng.next() % 30)
                    var values: [Value] = []
                    for (c, type) in types.enumerated() {
                        if Int(rng.next() % 100) < nullRates[c] {
                            values.append(.null)
                            continue
                        }
                        switch type {
                        case .string: values.append(.string(["", "B", "S", "多字节", "a,\"b\"\nc"][Int(rng.next() % 5)]))
                        default:
                            let bits = randomValue(type, regime: Int(rng.next() % 5), row: Int(t % 997), using: &rng)
                            values.append(type == .int64 ? .int64(bits) : .float64(Double(bitPattern: UInt64(bitPattern: bits))))
                        }
                    }
                    try tx.append(to: "t", symbol: s, time: t, values: values)
                }
            }
        }
        return try rows(db, "t")
    }

    /// Every row as text, Float64s as their bits: equal rows mean equal values, NaN payloads included.
    static func rows(_ db: Database, _ table: String) throws -> [String] {
        let snap = try db.snapshot()
        var out: [String] = ["\(snap.schema(of: table)!.headerNames)"]
        for s in snap.symbols(of: table) {
            try snap.scan(table, symbol: s) { b in
                let times = try b.times
                for r in b.rows {
                    var line = "\(s)|\(times[r])"
                    for c in 0..<snap.schema(of: table)!.columns.count {
                        switch try b.value(c, r) {
                        case .float64(let d): line += "|f\(d.bitPattern)"
                        case let v: line += "|\(v)"
                        }
                    }
                    out.append(line)
                }
            }
        }
        return out
    }

    @Test(arguments: 0..<6) func exportThenImportGivesTheSameRows(seed: UInt64) throws {
        let dir = TempDir("strata-parquet")
        defer { dir.cleanup() }
        let unit = TimeUnit.allCases[Int(seed % 4)]
        let db = try Database.open(dir.sub("db"))
        let expected = try Self.randomTable(db, seed: seed, unit: unit)
        for (k, layout) in ParquetPartitioning.allCases.enumerated() {
            var options = ParquetExportOptions()
            options.partitioning = layout
            options.codec = [ParquetCodec.zstd, .lz4Raw, .uncompressed][Int(seed + UInt64(k)) % 3]
            options.rowGroupRows = [7, 100, 1 << 20][Int(seed) % 3]
            options.pageBytes = [64, 1 << 20][Int(seed + UInt64(k)) % 2]
            if layout == .symbolMonth && seed % 2 == 1 { options.timeZone = "Asia/Shanghai" }
            let out = dir.sub(layout == .none && seed % 2 == 0 ? "out\(k).parquet" : "out\(k)")
            let result = try ParquetExporter.export(try db.snapshot(), table: "t", to: out, options: options)
            #expect(result.rows == expected.count - 1)
            let back = try Database.open(dir.sub("back\(k)"))
            _ = try ParquetImporter.importPath(out, into: "t", database: back)
            #expect(try back.snapshot().schema(of: "t")!.timeUnit == (unit == .seconds ? .milliseconds : unit))
            if unit != .seconds { #expect(try Self.rows(back, "t") == expected, "\(layout) \(options.codec)") }
            back.close()
        }
        db.close()
    }

    /// Every month file holds exactly the rows of its month, cut in the given zone.
    @Test func monthPartitionsCutAtLocalMidnight() throws {
        let dir = TempDir("strata-parquet-month")
        defer { dir.cleanup() }
        let db = try Database.open(dir.sub("db"))
        // 2025-01-31 15:59:59 and 16:00:00 UTC: January and February in Shanghai (UTC+8).
        let times: [Int64] = [1_738_339_199_000, 1_738_339_200_000]
        try db.write { tx in
            try tx.createTable("t", schema: Schema(columns: [Column("v", .int64)]))
            for t in times { try tx.append(to: "t", symbol: "s", time: t, values: [.int64(t)]) }
        }
        var options = ParquetExportOptions()
        options.partitioning = .symbolMonth
        options.timeZone = "Asia/Shanghai"
        let result = try ParquetExporter.export(try db.snapshot(), table: "t", to: dir.sub("out"), options: options)
        #expect(result.files.map { $0.replacingOccurrences(of: dir.sub("out"), with: "") }
            == ["/symbol=s/month=2025-01/part-0.parquet", "/symbol=s/month=2025-02/part-0.parquet"])
        options.timeZone = nil
        let utc = try ParquetExporter.export(try db.snapshot(), table: "t", to: dir.sub("utc"), options: options)
        #expect(utc.files.count == 1)
        db.close()
    }

    /// Byte flips and truncations of a real export: each import ends in a clear error (or, when the
    /// damage missed what is read, success), never a crash, and a failed import leaves no table.
    @Test func damagedFilesAreRefusedCleanly() throws {
        let dir = TempDir("strata-parquet-fuzz")
        defer { dir.cleanup() }
        let db = try Database.open(dir.sub("db"))
        _ = try Self.randomTable(db, seed: 7, unit: .milliseconds)
        var options = ParquetExportOptions()
        options.pageBytes = 256
        options.rowGroupRows = 300
        for codec in [ParquetCodec.zstd, .lz4Raw, .uncompressed] {
            options.codec = codec
            _ = try ParquetExporter.export(try db.snapshot(), table: "t", to: dir.sub("\(codec.name).parquet"), options: options)
        }
        db.close()
        var rng = SplitMix(seed: 77)
        var outcomes: [String: Int] = [:]
        for run in 0..<240 {
            let codec = ["zstd", "lz4", "none"][run % 3]
            var bytes = [UInt8](FileManager.default.contents(atPath: dir.sub("\(codec).parquet"))!)
            switch run % 4 {
            case 0: bytes.removeLast(Int(rng.next() % UInt64(bytes.count)))
            case 1:
                for _ in 0..<1 + Int(rng.next() % 4) { bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(1 << (rng.next() % 8)) }
            case 2:  // the footer, where lengths and offsets live
                let at = bytes.count - 8 - Int(rng.next() % UInt64(min(400, bytes.count - 8)))
                bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            default: bytes[Int(rng.next() % UInt64(bytes.count))] = [0, 0xFF, 0x7F][Int(rng.next() % 3)]
            }
            let path = dir.sub("bad\(run).parquet")
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            let target = try Database.open(dir.sub("into\(run)"))
            do {
                _ = try ParquetImporter.importPath(path, into: "t", database: target)
                outcomes["imported", default: 0] += 1
            } catch let e as StrataError {
                #expect(e.kind == .badInput, "\(e.message)")
                #expect(e.message.contains(path), "an error names the file: \(e.message)")
                #expect(try target.snapshot().schema(of: "t") == nil, "a refused import leaves nothing")
                outcomes["refused", default: 0] += 1
            }
            target.close()
        }
        #expect(outcomes["refused", default: 0] > 100)
        print("damaged Parquet files: \(outcomes)")
    }
}
