/// A full check of a database: the manifest, every data file, every block header and checksum,
/// every column decoded, statistics recomputed, time order within and across blocks.
public struct VerifyReport: Sendable {
    /// Each problem names the file and, where it applies, the table, symbol and block.
    public var problems: [String] = []
    /// Things that are not damage, such as an interrupted commit's leftovers, which the next writer removes.
    public var notes: [String] = []
    /// Tables checked.
    public var tables = 0
    /// Blocks checked.
    public var blocks = 0
    /// Rows in them.
    public var rows = 0

    /// True when nothing is wrong.
    public var isIntact: Bool { problems.isEmpty }
}

extension Database {
    /// Verifies the database in `path` without taking the writer lock. Never traps on damaged files.
    public static func verify(_ path: String) -> VerifyReport { verify(path, fs: PosixFileSystem()) }

    static func verify(_ path: String, fs: any FileSystem) -> VerifyReport {
        var report = VerifyReport()
        let manifestPath = path + "/" + ManifestFormat.fileName
        guard fs.exists(manifestPath) else {
            report.problems.append("\(path): not a Strata database (no \(ManifestFormat.fileName))")
            return report
        }
        let snapshot: Snapshot
        do {
            let (state, torn) = try load(fs: fs, directory: path, checkChecksums: true, previous: nil)
            fs.close(state.manifest!)
            snapshot = state.snapshot
            if let torn {
                report.notes.append("\(manifestPath): ignored \(torn) past byte \(state.manifestOffset) (an interrupted commit; nothing committed is missing)")
            }
        } catch {
            report.problems.append(error.message)
            return report
        }
        let catalog = snapshot.catalog
        for file in catalog.files.values.sorted(by: { $0.id < $1.id }) {
            if case .failure(let e) = snapshot.regions[file.id]! { report.problems.append(e.message) }
            let name = path + "/" + Catalog.dataFileName(file.id)
            if let h = try? fs.open(name, create: false, writable: false) {
                if let size = try? fs.size(h), size > file.length {
                    report.notes.append("\(name): \(size - file.length) bytes past the committed length (an interrupted commit)")
                }
                fs.close(h)
            }
        }
        let known = Set(catalog.files.keys.map(Catalog.dataFileName))
        for name in (try? fs.list(path)) ?? [] where name.hasSuffix(".sdf") && !known.contains(name) {
            report.notes.append("\(path)/\(name): not part of any commit (left by an interrupted commit)")
        }
        let decoded = DecodedBlock()
        var unreadable: [UInt32: Int] = [:]
        for tableName in snapshot.tables {
            let t = snapshot.state(tableName)!
            report.tables += 1
            let all = Array(t.schema.columns.indices)
            for symbolID in t.symbols.indices {
                var previousLast: Int64? = nil
                for index in t.symbols[symbolID].blocks.indices {
                    report.blocks += 1
                    let file = t.symbols[symbolID].blocks[index].file
                    if case .failure = snapshot.regions[file] {
                        unreadable[file, default: 0] += 1  // reported once, with the file
                        previousLast = t.symbols[symbolID].blocks[index].lastTime
                        continue
                    }
                    do {
                        let h = try snapshot.decode(t, symbol: symbolID, block: index, columns: all, into: decoded)
                        try snapshot.checkPadding(t, symbolID, index, header: h)
                        let what = snapshot.blockContext(t, symbol: symbolID, block: index, t.symbols[symbolID].blocks[index])
                        try check(decoded, header: h, schema: t.schema, previousLast: previousLast, what: what)
                        report.rows += h.rows
                    } catch {
                        report.problems.append(error.message)
                    }
                    previousLast = t.symbols[symbolID].blocks[index].lastTime
                }
            }
        }
        for (file, n) in unreadable.sorted(by: { $0.key < $1.key }) {
            report.problems.append("\(path)/\(Catalog.dataFileName(file)): \(n) block\(n == 1 ? "" : "s") in this file could not be read")
        }
        return report
    }

    private static func check(
        _ d: DecodedBlock, header h: BlockHeader, schema: Schema, previousLast: Int64?, what: () -> String
    ) throws(StrataError) {
        if d.times.first != h.firstTime || d.times.last != h.lastTime {
            throw .damaged("\(what()): decoded times do not match the header's time range")
        }
        for i in 1..<max(1, d.rows) where d.times[i] < d.times[i - 1] {
            throw .damaged("\(what()): times go back at row \(i)")
        }
        if let previousLast, h.firstTime < previousLast {
            throw .damaged("\(what()): block starts before the previous block ends")
        }
        let timeStats = ColumnStats.compute(d.times)
        if timeStats != h.stats(0) { throw .damaged("\(what()): time column statistics do not match its values") }
        for c in 1..<h.columnCount {
            guard let slot = schema.columnIndex(id: h.columnID(c)) else {
                // A dropped column's chunk: its bytes are still checked against their checksum.
                try h.checkWholeChunk(c, what: what)
                continue
            }
            let rows = (0..<d.rows).filter { !d.isNull(slot, $0) }
            let stats = switch d.types[slot] {
            case .int64: ColumnStats.compute(rows.map { d.ints[slot][$0] })
            case .float64: ColumnStats.compute(rows.map { d.floats[slot][$0] })
            case .string: rows.map { d.ints[slot][$0] }.withUnsafeBufferPointer { ColumnStats.compute($0, type: .string) }
            }
            if stats != h.stats(c) || rows.count != d.rows - h.nullCount(c) {
                throw .damaged("\(what()): statistics of column \(c) do not match its values")
            }
            if d.types[slot] == .string && Int(stats.max) != d.dictionaries[slot].count - 1 {
                throw .damaged("\(what()): column \(c) has dictionary entries no row uses")
            }
        }
    }
}

extension Snapshot {
    /// Padding lies outside every checksum, so verify checks it is zero, as Format.md requires.
    func checkPadding(_ t: Catalog.TableState, _ symbolID: Int, _ index: Int, header h: BlockHeader) throws(StrataError) {
        let ref = t.symbols[symbolID].blocks[index]
        let payload = Int(ref.offset) + h.headerBytes
        var covered = 0
        let mapping = try self.region(ref.file)
        func zero(_ range: Range<Int>) -> Bool {
            mapping.withBytes { region in !region[payload + range.lowerBound..<payload + range.upperBound].contains(where: { $0 != 0 }) }
        }
        for chunk in h.chunks.sorted(by: { $0.offset < $1.offset }) {
            let start = Int(chunk.offset)
            if start < covered || !zero(covered..<start) {
                throw .damaged("\(blockContext(t, symbol: symbolID, block: index, ref)()): non-zero padding before a column chunk")
            }
            covered = start + Int(chunk.storedLength)
        }
        if !zero(covered..<h.payloadBytes) {
            throw .damaged("\(blockContext(t, symbol: symbolID, block: index, ref)()): non-zero padding at the end of the payload")
        }
    }
}
