import Synchronization

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
    static func check(_ region: MappedRegion, fileID: UInt32, tableID: UInt32, name: String) throws(StrataError) {
        if region.count < headerBytes {
            throw .damaged("\(name): truncated at byte 0 (needed \(headerBytes) bytes, \(region.count) there)")
        }
        if !region.withBytes({ $0.prefix(8).elementsEqual(magic) }) { throw .damaged("\(name): not a Strata data file (bad magic)") }
        let version = region.load(fromByteOffset: 8, as: UInt32.self)
        if version != Self.version { throw .damaged("\(name): unsupported data file version \(version)") }
        let f = region.load(fromByteOffset: 12, as: UInt32.self), t = region.load(fromByteOffset: 16, as: UInt32.self)
        if f != fileID || t != tableID {
            throw .damaged("\(name): header says file \(f) of table \(t), the manifest says file \(fileID) of table \(tableID)")
        }
    }
}

/// Shared by every snapshot that includes one data file. Compaction retires the files it replaced;
/// a retired file is removed from disk when the last snapshot of this process that can read it is
/// gone, so no reader ever loses a file it maps. (Other processes' mappings stay valid too: on Linux
/// an unlinked file lives until its last mapping goes.)
final class DataFileLease: Sendable {
    let path: String
    private let fs: any FileSystem
    private let retired = Atomic<Bool>(false)

    init(path: String, fs: any FileSystem) {
        self.path = path
        self.fs = fs
    }

    func retire() { retired.store(true, ordering: .sequentiallyConsistent) }

    var isRetired: Bool { retired.load(ordering: .sequentiallyConsistent) }

    deinit {
        // Best effort: a file left behind is removed by the next writer's recovery.
        if retired.load(ordering: .sequentiallyConsistent) { try? fs.remove(path) }
    }
}
