#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Snapshot {
    /// Runs `sql` and decodes each row into a `T`.
    ///
    /// Properties are matched to result columns by name (a type's `CodingKeys` rename them). Integers
    /// decode from int64 columns (checked to fit), floating point from float64 or int64, strings from
    /// text; a `Date` decodes from an int64 time in the unit of the query's table (so `SELECT ts`
    /// gives the row's instant), and an `Int64` time stays in that unit. A null decodes into an
    /// `Optional` as `nil`. A property with no column of its name, a null into a non-optional, and a
    /// value of another type are errors that name the column.
    ///
    /// ```swift
    /// struct Bar: Decodable { let symbol: String; let ts: Date; let close: Double; let volume: Int64 }
    /// let bars = try snapshot.query("SELECT symbol, ts, close, volume FROM bars", as: Bar.self)
    /// ```
    public func query<T: Decodable>(_ sql: String, as type: T.Type) throws(StrataError) -> [T] {
        let q = try SQLParser.parse(sql)
        let unit = try Planner(snapshot: self).plan(q).table?.schema.timeUnit ?? .milliseconds
        let result = try query(q)
        var rows: [T] = []
        rows.reserveCapacity(result.rowCount)
        for r in 0..<result.rowCount {
            do {
                rows.append(try T(from: RowDecoder(result: result, row: r, unit: unit)))
            } catch let e as DecodingError {
                throw .badInput("row \(r) as \(T.self): \(RowDecoder.describe(e))")
            } catch let e as StrataError {
                throw e
            } catch {
                throw .badInput("row \(r) as \(T.self): \(error)")
            }
        }
        return rows
    }
}

/// Decodes one row of a `QueryResult` (see `Snapshot.query(_:as:)`).
struct RowDecoder: Decoder {
    let result: QueryResult
    let row: Int
    let unit: TimeUnit
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RowContainer<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath, debugDescription: "a row decodes into a struct or class, by column name"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: codingPath, debugDescription: "a row decodes into a struct or class, by column name"))
    }

    /// The message of a decoding error, naming the column.
    static func describe(_ e: DecodingError) -> String {
        switch e {
        case .keyNotFound(let key, _): "no column named \(key.stringValue) in the result"
        case .valueNotFound(_, let c): "column \(c.codingPath.last?.stringValue ?? "?") is null, and the property is not optional"
        case .typeMismatch(_, let c), .dataCorrupted(let c): "column \(c.codingPath.last?.stringValue ?? "?"): \(c.debugDescription)"
        @unknown default: "\(e)"
        }
    }
}

/// One value of a row, with the conversions `Snapshot.query(_:as:)` allows.
struct ValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: ResultValue
    let unit: TimeUnit
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> { throw mismatch(Key.self) }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw mismatch([Any].self) }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    private func mismatch(_ type: Any.Type) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "\(value) does not decode as \(type)"))
    }

    func decodeNil() -> Bool { value == .null }

    private func nonNull<T>(_ type: T.Type) throws -> ResultValue {
        if value == .null { throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "null")) }
        return value
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .int(let v) = try nonNull(type), v == 0 || v == 1 else { throw mismatch(type) }
        return v == 1
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let s) = try nonNull(type) else { throw mismatch(type) }
        return s
    }

    func decode(_ type: Double.Type) throws -> Double {
        switch try nonNull(type) {
        case .float(let d): return d
        case .int(let v): return Double(v)
        default: throw mismatch(type)
        }
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    private func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard case .int(let v) = try nonNull(type) else { throw mismatch(type) }
        guard let x = T(exactly: v) else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "\(v) does not fit in \(T.self)"))
        }
        return x
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if type == Date.self {
            guard case .int(let v) = try nonNull(type) else { throw mismatch(type) }
            return Date(timeIntervalSince1970: Double(v) / Double(unit.perSecond)) as! T
        }
        return try T(from: self)
    }
}

/// The columns of a row by name. Every key "is there": a property whose column is missing fails
/// (even an optional one), rather than silently reading nil.
struct RowContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: RowDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { decoder.result.names.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { true }

    private func value(_ key: Key) throws -> ValueDecoder {
        guard let c = decoder.result.names.firstIndex(where: { sameBytes($0, key.stringValue) }) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no column \(key.stringValue)"))
        }
        return ValueDecoder(value: decoder.result[decoder.row, c], unit: decoder.unit, codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key).decodeNil() }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try value(key).decode(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try value(key).decode(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try value(key).decode(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try value(key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try value(key).decode(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try value(key).decode(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try value(key).decode(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try value(key).decode(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try value(key).decode(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try value(key).decode(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try value(key).decode(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try value(key).decode(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try value(key).decode(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try value(key).decode(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try value(key).decode(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.typeMismatch(type, .init(codingPath: codingPath + [key], debugDescription: "a column holds one value, not a struct"))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath + [key], debugDescription: "a column holds one value, not a list"))
    }

    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { try value(key) }
}
