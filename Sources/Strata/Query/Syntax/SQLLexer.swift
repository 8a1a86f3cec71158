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
        var scanner = Scanner(Array(sql.unicodeScalars))
        while let token = try scanner.next() { scanner.tokens.append(token) }
        scanner.tokens.append(Token(kind: .end, start: scanner.c.count, end: scanner.c.count))
        return scanner.tokens
    }

    /// Cuts the text into tokens, one at a time.
    private struct Scanner {
        let c: [Unicode.Scalar]
        var i = 0
        var tokens: [Token] = []

        init(_ c: [Unicode.Scalar]) { self.c = c }

        static func isLetter(_ u: Unicode.Scalar) -> Bool {
            // ASCII first: the Unicode property lookup costs hundreds of instructions a character.
            if u.isASCII { return (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || u == "_" }
            return u.properties.isAlphabetic
        }
        static func isDigit(_ u: Unicode.Scalar) -> Bool { u >= "0" && u <= "9" }

        /// The next token, or nil at the end of the text.
        mutating func next() throws(StrataError) -> Token? {
            skipSpaceAndComments()
            guard i < c.count else { return nil }
            let u = c[i]
            if Self.isLetter(u) { return word() }
            if Self.isDigit(u) || (u == "." && i + 1 < c.count && Self.isDigit(c[i + 1])) { return try number() }
            if u == "'" || u == "\"" { return try quoted() }
            return try symbol()
        }

        private mutating func skipSpaceAndComments() {
            while i < c.count {
                let u = c[i]
                if u == " " || u == "\t" || u == "\n" || u == "\r" {
                    i += 1
                } else if u == "-" && i + 1 < c.count && c[i + 1] == "-" {  // comment to the end of the line
                    while i < c.count && c[i] != "\n" { i += 1 }
                } else {
                    return
                }
            }
        }

        /// The scalars in `range` as a string, appended one by one: a string view made from a
        /// sequence of them went through an unspecialised `map`, whose first call in a process
        /// looked a conformance up among all the binary's (313 K instructions of a fresh `strata query`).
        private func text(_ range: Range<Int>) -> String {
            var view = String.UnicodeScalarView()
            for u in c[range] { view.append(u) }
            return String(view)
        }

        private mutating func word() -> Token {
            let start = i
            while i < c.count && (Self.isLetter(c[i]) || Self.isDigit(c[i])) { i += 1 }
            return Token(kind: .word(text(start..<i)), start: start, end: i)
        }

        private mutating func number() throws(StrataError) -> Token {
            let start = i
            while i < c.count && Self.isDigit(c[i]) { i += 1 }
            var isFloat = false
            if i < c.count && c[i] == "." { isFloat = true; i += 1; while i < c.count && Self.isDigit(c[i]) { i += 1 } }
            if i < c.count && (c[i] == "e" || c[i] == "E") {
                var j = i + 1
                if j < c.count && (c[j] == "+" || c[j] == "-") { j += 1 }
                if j < c.count && Self.isDigit(c[j]) {
                    isFloat = true
                    i = j
                    while i < c.count && Self.isDigit(c[i]) { i += 1 }
                }
            }
            let text = text(start..<i)
            if isFloat {
                guard let d = Double(text) else { throw .badInput("syntax error at position \(start + 1): '\(text)' is not a number") }
                return Token(kind: .number(d, text), start: start, end: i)
            }
            if let v = Int64(text) { return Token(kind: .integer(v), start: start, end: i) }
            return Token(kind: .number(Double(text)!, text), start: start, end: i)  // too large for Int64: a Float64 literal
        }

        /// A 'string' or a "quoted name"; the quote is doubled inside.
        private mutating func quoted() throws(StrataError) -> Token {
            let start = i, u = c[i]
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
            return Token(kind: u == "'" ? .string(String(text)) : .quotedName(String(text)), start: start, end: i)
        }

        private mutating func symbol() throws(StrataError) -> Token {
            let start = i, u = c[i]
            let two = i + 1 < c.count ? text(i..<i + 2) : ""
            if ["<=", ">=", "!=", "<>"].contains(two) {
                i += 2
                return Token(kind: .symbol(two == "<>" ? "!=" : two), start: start, end: i)
            }
            if "(),*+-/.=<>;".unicodeScalars.contains(u) {
                i += 1
                return Token(kind: .symbol(String(u)), start: start, end: i)
            }
            throw .badInput("syntax error at position \(start + 1): unexpected character '\(u)'")
        }
    }
}
