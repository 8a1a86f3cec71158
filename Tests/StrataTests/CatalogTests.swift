import Testing
@testable import Strata
@testable import StrataTools

/// Building the catalog from manifest entries: symbols by name, in one record or many, and a
/// symbol added twice reported as damage with the catalog's names left as they were.
@Suite struct CatalogTests {
    static let schema = Schema(columns: [Column("v", .int64)])

    /// Random records adding symbols to two tables (runs of one table, interleaved, one at a time),
    /// against a dictionary of what each table must hold.
    @Test(arguments: 0..<4)
    func symbolsMatchAModel(seed: UInt64) throws {
        var rng = SplitMix(seed: seed &+ 7)
        var catalog = Catalog()
        try catalog.apply([.createTable(id: 1, name: "a", schema: Self.schema), .createTable(id: 2, name: "b", schema: Self.schema)], what: { "test" })
        var model: [UInt32: [String]] = [1: [], 2: []]
        for _ in 0..<40 {
            var record: [ManifestEntry] = []
            for _ in 0..<Int(rng.next() % 300) {
                let table: UInt32 = rng.next() % 4 == 0 ? 2 : 1
                let id = UInt32(model[table]!.count)
                let name = "\(table == 1 ? "s" : "t")\(id)-\(rng.next() % 1_000)"
                model[table]!.append(name)
                record.append(.addSymbol(table: table, id: id, name: name))
            }
            try catalog.apply(record, what: { "test" })
        }
        for (table, names) in model {
            let t = try #require(catalog.tables[table])
            #expect(t.symbols.map(\.name) == names)
            for (id, name) in names.enumerated() { #expect(t.symbolID(name) == UInt32(id)) }
            #expect(t.symbolID("absent") == nil)
        }
    }

    @Test func aSymbolAddedTwiceIsDamage() throws {
        var catalog = Catalog()
        try catalog.apply([.createTable(id: 1, name: "a", schema: Self.schema)], what: { "test" })
        try catalog.apply((0..<100).map { .addSymbol(table: 1, id: UInt32($0), name: "s\($0)") }, what: { "test" })
        let duplicate: [ManifestEntry] = [.addSymbol(table: 1, id: 100, name: "s100"), .addSymbol(table: 1, id: 101, name: "s7")]
        var thrown: StrataError? = nil
        do { try catalog.apply(duplicate, what: { "record 3" }) } catch { thrown = error }
        #expect(thrown?.kind == .damaged)
        #expect(thrown?.message.contains("record 3: symbol s7 has out-of-order or duplicate id 101") == true)
        let t = try #require(catalog.tables[1])
        #expect(t.symbolID("s7") == 7, "the first id of a name stays")
        #expect(t.symbols.count == 101)
        let outOfOrder: [ManifestEntry] = [.addSymbol(table: 1, id: 500, name: "late")]
        #expect(throws: StrataError.self) { try catalog.apply(outOfOrder, what: { "record 4" }) }
    }
}
