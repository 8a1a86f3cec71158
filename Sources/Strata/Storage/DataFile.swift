/// Data files hold blocks, appended one after another. Byte layout in Format.md, "Data files".
enum DataFileFormat {
    static let magic: [UInt8] = Array("STRATADF".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 24

    static func header(fileID: UInt32, tableID: UInt32) -> [UInt8] {
        var w = ByteWriter()
        w.bytes.append(contentsOf: magic)
        w.u32(version)
        w.u32(fileID)
        w.u32(tableID)
        w.u32(0)
        return w.bytes
    }

    /// Checks the header of a mapped data file against what the manifest says it is.
    static func check(_ bytes: UnsafeRawBufferPointer, fileID: UInt32, tableID: UInt32, name: String) throws(StrataError) {
        var r = ByteReader(bytes, what: { name })
        try r.need(headerBytes)
        if !zip(bytes[0..<8], magic).allSatisfy({ $0 == $1 }) { throw .damaged("\(name): not a Strata data file (bad magic)") }
        r.offset = 8
        let version = try r.u32()
        if version != Self.version { throw .damaged("\(name): unsupported data file version \(version)") }
        let f = try r.u32(), t = try r.u32()
        if f != fileID || t != tableID {
            throw .damaged("\(name): header says file \(f) of table \(t), the manifest says file \(fileID) of table \(tableID)")
        }
    }
}
