// Changing a table's columns: one manifest entry each, no block rewritten. Blocks name their
// columns by id, so an added column is simply absent from older blocks (null there), a dropped one
// is ignored where blocks still hold it (compaction reclaims its bytes), and a rename changes only
// the name the id goes by.

extension Transaction {
    /// Adds a value column after every other; rows written before read it as null.
    public func addColumn(_ name: String, _ type: ColumnType, to table: String) throws(StrataError) {
        try checkLive("addColumn")
        try changeColumns(table) { (s) throws(StrataError) in try s.addColumn(name, type) }
    }

    /// Drops a value column (not the symbol or time column, nor the last value column).
    public func dropColumn(_ name: String, from table: String) throws(StrataError) {
        try checkLive("dropColumn")
        try changeColumns(table) { (s) throws(StrataError) in try s.dropColumn(name) }
    }

    /// Renames a column, the symbol and time columns included; its values stay.
    public func renameColumn(_ old: String, to new: String, in table: String) throws(StrataError) {
        try checkLive("renameColumn")
        try changeColumns(table) { (s) throws(StrataError) in try s.renameColumn(old, to: new) }
    }

    private func changeColumns(_ table: String, _ change: (inout Schema) throws(StrataError) -> Void) throws(StrataError) {
        guard let id = catalog.tableID(table), var schema = catalog.tables[id]?.schema else {
            throw .badInput("no table named \(table)")
        }
        do { try change(&schema) } catch { throw .badInput("table \(table): \(error.message)") }
        if schema == catalog.tables[id]!.schema { return }
        // Rows buffered for the table have the old columns: they are written out first.
        if let t = tables[id] {
            for case let b? in t.symbols where !b.times.isEmpty { try flush(t, b, deferMerge: true) }
            try finishMerges()
            tables[id] = nil
        }
        pool[id] = nil
        try record(.columns(table: id, schema: schema))
    }
}
