import Foundation

/// GADGET-4's file names for snapshots and initial conditions.
public enum SnapshotPaths {
    /// Where snapshot `number` goes: `dir/base_NNN.hdf5`, or for several
    /// files `dir/snapdir_NNN/base_NNN.K.hdf5`.
    public static func output(directory: String, base: String, number: Int, files: Int) -> [String] {
        let nnn = threeDigits(number)
        if files == 1 { return ["\(directory)/\(base)_\(nnn).hdf5"] }
        return (0..<files).map { "\(directory)/snapdir_\(nnn)/\(base)_\(nnn).\($0).hdf5" }
    }

    /// The files of a snapshot given as GADGET-4 names it: `x.hdf5`, `x` (GADGET-4's
    /// InitCondFile, without the suffix), a multi-file set `x.0.hdf5` / `x` with
    /// `x.K.hdf5` beside it, or a `snapdir_NNN` folder. `numFiles` comes from file 0.
    public static func input(_ given: String, numFiles: (String) throws -> Int) throws -> [String] {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: given, isDirectory: &isDirectory), isDirectory.boolValue {
            let hdf = (try? fm.contentsOfDirectory(atPath: given))?.filter { $0.hasSuffix(".0.hdf5") }.sorted() ?? []
            guard let first = hdf.first else { throw SnapshotFormatError("\(given) is a folder without a file *.0.hdf5") }
            return try input("\(given)/\(first)", numFiles: numFiles)
        }
        var stem = given
        if stem.hasSuffix(".hdf5") { stem.removeLast(5) }
        if stem.hasSuffix(".0") {  // first file of a set
            let base = String(stem.dropLast(2))
            return try multi(base: base, numFiles: numFiles)
        }
        if fm.fileExists(atPath: stem + ".hdf5") { return [stem + ".hdf5"] }
        if fm.fileExists(atPath: stem + ".0.hdf5") { return try multi(base: stem, numFiles: numFiles) }
        if fm.fileExists(atPath: given) { return [given] }
        throw SnapshotFormatError("no snapshot at \(given) (looked for \(stem).hdf5 and \(stem).0.hdf5)")
    }

    private static func multi(base: String, numFiles: (String) throws -> Int) throws -> [String] {
        let n = try numFiles(base + ".0.hdf5")
        let paths = (0..<n).map { "\(base).\($0).hdf5" }
        if let missing = paths.first(where: { !FileManager.default.fileExists(atPath: $0) }) {
            throw SnapshotFormatError("snapshot set \(base) lists \(n) files but \(missing) is missing")
        }
        return paths
    }

    /// The output directory and snapshot number of a snapshot file named as
    /// GADGET-4 names them (`dir/base_NNN.hdf5`, `dir/snapdir_NNN/base_NNN.K.hdf5`);
    /// nil number if the name carries none.
    public static func origin(of file: String) -> (directory: String, number: Int?) {
        var directory = (file as NSString).deletingLastPathComponent
        if (directory as NSString).lastPathComponent.hasPrefix("snapdir_") { directory = (directory as NSString).deletingLastPathComponent }
        if directory.isEmpty { directory = "." }
        let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let stem = name.split(separator: ".").first.map(String.init) ?? name
        guard let underscore = stem.lastIndex(of: "_"), let number = Int(stem[stem.index(after: underscore)...]) else {
            return (directory, nil)
        }
        return (directory, number)
    }

    /// GADGET-4's name for the power spectrum of output `number`.
    public static func powerSpectrum(directory: String, number: Int) -> String {
        "\(directory)/powerspecs/powerspec_\(threeDigits(number)).txt"
    }

    public static func threeDigits(_ n: Int) -> String {
        let s = String(n)
        return s.count >= 3 ? s : String(repeating: "0", count: 3 - s.count) + s
    }

    /// The range of global indices [start, end) that rank `rank` of `size` holds
    /// when `total` items are split evenly and contiguously.
    public static func evenShare(total: Int, rank: Int, size: Int) -> Range<Int> {
        let start = Int((Int64(total) * Int64(rank)) / Int64(size))
        let end = Int((Int64(total) * Int64(rank + 1)) / Int64(size))
        return start..<end
    }
}
