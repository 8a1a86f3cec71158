// The SQL dialect's tokens and the lexer that cuts a query's text into them.

struct Token {
    enum Kind: Equatable {
        case word(String)  // identifier or keyword, as written
        case quotedName(String)  // "identifier"
        case integer(Int64)
        case number(Double, String)
        case string(String)
        case symbol(String)
        case end
    }

    var kind: Kind
    /// Character offsets of the token in the query text.
    var start: Int
    var end: Int

    var keyword: String? {
        if case .word(let w) = kind { return w.uppercased() }
        return nil
    }

    var display: String {
        switch kind {
        case .word(let w): "'\(w)'"
        case .quotedName(let w): "\"\(w)\""
        case .integer(let v): "\(v)"
        case .number(_, let text): text
        case .string(let s): "'\(s)'"
        case .symbol(let s): "'\(s)'"
        case .end: "the end of the query"
        }
    }
}

enum Lexer {
    static func tokens(_ sql: String) throws(StrataError) -> [Token] {
        let c = Array(sql.unicodeScalars)
        var out: [Token] = []
        var i = 0
        func isLetter(_ u: Unicode.Scalar) -> Bool { u.properties.isAlphabetic || u == "_" }
        func isDigit(_ u: Unicode.Scalar) -> Bool { u >= "0" && u <= "9" }
        while i < c.count {
            let u = c[i]
            if u == " " || u == "\t" || u == "\n" || u == "\r" { i += 1; continue }
            if u == "-" && i + 1 < c.count && c[i + 1] == "-" {  // comment to the end of the line
                while i < c.count && c[i] != "\n" { i += 1 }
                continue
            }
            let start = i
            if isLetter(u) {
                while i < c.count && (isLetter(c[i]) || isDigit(c[i])) { i += 1 }
                out.append(Token(kind: .word(String(String.UnicodeScalarView(c[start..<i]))), start: start, end: i))
            } else if isDigit(u) || (u == "." && i + 1 < c.count && isDigit(c[i + 1])) {
                while i < c.count && isDigit(c[i]) { i += 1 }
                var isFloat = false
                if i < c.count && c[i] == "." { isFloat = true; i += 1; while i < c.count && isDigit(c[i]) { i += 1 } }
                if i < c.count && (c[i] == "e" || c[i] == "E") {
                    var j = i + 1
                    if j < c.count && (c[j] == "+" || c[j] == "-") { j += 1 }
                    if j < c.count && isDigit(c[j]) {
                        isFloat = true
                        i = j
                        while i < c.count && isDigit(c[i]) { i += 1 }
                    }
                }
                let text = String(String.UnicodeScalarView(c[start..<i]))
                if isFloat {
                    guard let d = Double(text) else { throw .badInput("syntax error at position \(start + 1): '\(text)' is not a number") }
                    out.append(Token(kind: .number(d, text), start: start, end: i))
                } else if let v = Int64(text) {
                    out.append(Token(kind: .integer(v), start: start, end: i))
                } else {
                    // Too large for Int64: a Float64 literal.
                    out.append(Token(kind: .number(Double(text)!, text), start: start, end: i))
                }
            } else if u == "'" || u == "\"" {
                var text = String.UnicodeScalarView()
                i += 1
                while true {
                    guard i < c.count else {
                        throw .badInput("syntax error at position \(start + 1): the \(u == "'" ? "string" : "quoted name") opened here is never closed")
                    }
                    if c[i] == u {
                        if i + 1 < c.count && c[i + 1] == u { text.append(u); i += 2; continue }
                        i += 1
                        break
                    }
                    text.append(c[i])
                    i += 1
                }
                out.append(Token(kind: u == "'" ? .string(String(text)) : .quotedName(String(text)), start: start, end: i))
            } else {
                let two = i + 1 < c.count ? String(String.UnicodeScalarView([u, c[i + 1]])) : ""
                if ["<=", ">=", "!=", "<>"].contains(two) {
                    out.append(Token(kind: .symbol(two == "<>" ? "!=" : two), start: start, end: i + 2))
                    i += 2
                } else if "(),*+-/.=<>;".unicodeScalars.contains(u) {
                    out.append(Token(kind: .symbol(String(u)), start: start, end: i + 1))
                    i += 1
                } else {
                    throw .badInput("syntax error at position \(start + 1): unexpected character '\(u)'")
                }
            }
        }
        out.append(Token(kind: .end, start: c.count, end: c.count))
        return out
    }
}
