/// Every failure Strata reports is a `StrataError`: a stable kind, one sentence a user can act on,
/// and where it happened (file, table, symbol, block, CSV line) when that is known.
public struct StrataError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong, which decides the CLI's exit code (1 bad input or misuse, 2 damage, 3 locked).
    public enum Kind: String, Sendable {
        /// Bad input: a malformed CSV, an unknown table, time going back, a bad argument.
        case badInput
        /// The calling program used the API in a way it does not allow: a transaction used after its
        /// `write` returned, a `write` or `compact` inside `write`, a handle used after `close`, a
        /// scan batch kept past its closure or read as the wrong type. Nothing was written.
        case misuse
        /// The database on disk is damaged: checksum mismatch, truncated file, impossible value.
        case damaged
        /// Another writer holds the database.
        case locked
        /// The operating system refused an operation (disk full, EIO, permission).
        case io
    }

    /// The class of the error.
    public var kind: Kind
    /// What went wrong, for a person: names the file, table, column, line or block where known.
    public var message: String

    /// An error of `kind` saying `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message.
    public var description: String { message }

    package static func badInput(_ message: String) -> StrataError { StrataError(.badInput, message) }
    package static func damaged(_ message: String) -> StrataError { StrataError(.damaged, message) }
    static func misuse(_ message: String) -> StrataError { StrataError(.misuse, message) }
}
