// EXPLAIN: the plan of a query in words, one line a row: the source, the symbols chosen, the time
// range, the columns read, the filters, the aggregation or windows, and what the scan would do with
// the blocks in range (skip them by their statistics, answer them from their statistics, or decode
// them), counted from the block headers without decoding anything.

extension Plan {
    func explain() throws(StrataError) -> QueryResult {
        var lines: [String] = []
        describe(into: &lines, indent: "")
        return QueryResult(names: ["plan"], columns: [.string(lines)])
    }

    private func describe(into lines: inout [String], indent: String) {
        if let w = windowStage {
            let names = w.steps.map(\.text).joined(separator: ", ")
            lines.append(indent + "windows: \(names)")
            lines.append(indent + "  " + (w.streams ? "computed a partition (symbol) at a time as the rows are scanned" : "over the rows below, collected and sorted by partition and order"))
            w.inner.describe(into: &lines, indent: indent + "  ")
            describeOrderAndLimit(into: &lines, indent: indent)
            return
        }
        if let t = table {
            let chosen = tableSymbols(t)
            lines.append(indent + "scan table \(t.name)")
            let shown = chosen.prefix(8).map(\.1).joined(separator: ", ")
            lines.append(indent + "  symbols: \(chosen.count) of \(t.symbols.count)" + (symbolFilter == nil && excludedSymbols.isEmpty ? " (all)" : ": \(shown)\(chosen.count > 8 ? ", ..." : "")"))
            lines.append(indent + "  time: " + (timeRangeEmpty ? "empty range" : timeRangeAll ? "all" : "\(lo == .min ? "-inf" : String(lo)) to \(hi == .max ? "+inf" : String(hi)) (\(t.schema.timeUnit), both included)"))
            let read = [t.schema.timeColumn] + valueColumns.map { t.schema.columns[$0.column].name }
            lines.append(indent + "  columns read: " + read.joined(separator: ", "))
        } else {
            lines.append(indent + "the rows of a subquery, as it gives them:")
            relation?.plan.describe(into: &lines, indent: indent + "  ")
        }
        if !predicates.isEmpty { lines.append(indent + "  filters: \(predicates.count) value condition\(predicates.count == 1 ? "" : "s") (blocks skipped or kept whole by their statistics where they can be)") }
        if let j = join { lines.append(indent + "  ASOF JOIN \(j.table.name): the last row at or before each row's time, per symbol") }
        if let a = aggregation {
            let keys = a.keyExprs.map(\.description)
            lines.append(indent + "  aggregate: \(a.aggregates.map(\.text).joined(separator: ", "))" + (keys.isEmpty ? "" : " by \(keys.joined(separator: ", "))"))
            if let b = a.bucketer {
                lines.append(indent + "  buckets of \(b.step) \(layout.timeUnit.map { "\($0)" } ?? "units")" + (b.calendar.map { " cut at the sessions of \($0.name)" } ?? b.zone.map { " on the local clock of \($0.name)" } ?? ""))
            }
            if !a.statsAnswerable { lines.append(indent + "  every block in range is decoded (the aggregates need the rows)") }
        }
        if latest { lines.append(indent + "  LATEST ON: per symbol, the newest block at or before the range's end, read backwards") }
        if table != nil && !latest, let counts = try? blockCounts() {
            lines.append(indent + "  blocks in range: \(counts.skipped + counts.fromStats + counts.decoded): \(counts.fromStats) answered from statistics, \(counts.decoded) decoded, \(counts.skipped) skipped by statistics")
        }
        describeOrderAndLimit(into: &lines, indent: indent)
    }

    private func describeOrderAndLimit(into lines: inout [String], indent: String) {
        if !order.isEmpty { lines.append(indent + "then sort by \(order.count) key\(order.count == 1 ? "" : "s")") }
        if let limit { lines.append(indent + "then the first \(limit) rows") }
    }

    /// What the scan would do with each block in range, from the headers alone.
    private func blockCounts() throws(StrataError) -> (skipped: Int, fromStats: Int, decoded: Int) {
        guard let t = table else { return (0, 0, 0) }
        let context = ScanContext()
        context.dryRun = true
        let g = GroupTable(width: aggregation?.aggregates.count ?? 0)
        for (id, name) in tableSymbols(t) {
            _ = try scanSymbol(t, id, name, context, stats: { (ref, index, header) throws(StrataError) in
                guard let a = aggregation, a.statsAnswerable else { return false }
                return try fromStats(a, g, t, id, name, ref, index, header, copy: context.blockCopy)
            }) { (_) throws(StrataError) in true }
        }
        return (context.blocksSkipped, context.blocksFromStats, context.blocksDecoded)
    }
}
