import Foundation
import Parallel

/// A friends-of-friends catalogue in GADGET-4's `fof_tab_NNN.hdf5` layout:
/// `/Header` counts, `/Group` datasets (dark matter is type 1 of the two
/// types), an empty `/IDs` group, and the run's `/Parameters` and `/Config`.
public struct GroupCatalogue: Sendable {
    public var length: [Int32]
    public var mass: [Double]
    public var position: [SIMD3<Double>]
    public var velocity: [SIMD3<Double>]
    /// Index of each group's first particle in the group-ordered snapshot.
    public var offset: [Int64]

    public init(length: [Int32], mass: [Double], position: [SIMD3<Double>], velocity: [SIMD3<Double>], offset: [Int64]) {
        self.length = length
        self.mass = mass
        self.position = position
        self.velocity = velocity
        self.offset = offset
    }

    public var count: Int { length.count }

    /// Writes the catalogue (on the calling rank alone; it is small), under
    /// a temporary name renamed when complete, like snapshots.
    public func write(to path: String, time: Double, redshift: Double, boxSize: Double,
                      parameters: [Attribute], config: [Attribute]) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let temporary = try HDF5File.writeIncomplete(path, communicator: .selfOnly) { file in
            try write(into: file, time: time, redshift: redshift, boxSize: boxSize, parameters: parameters, config: config)
        }
        try HDF5File.publish([temporary], communicator: .selfOnly)
    }

    private func write(into file: HDF5File, time: Double, redshift: Double, boxSize: Double,
                       parameters: [Attribute], config: [Attribute]) throws {
        let n = UInt64(count)
        let ids = UInt64(length.reduce(0) { $0 + Int($1) })
        try file.root.createGroup("Header").attributes.write([
            .scalar("BoxSize", boxSize),
            .string("Git_commit", G4Version.commit),
            .string("Git_date", G4Version.date),
            .scalar("Ngroups_ThisFile", n), .scalar("Ngroups_Total", n),
            .scalar("Nids_ThisFile", ids), .scalar("Nids_Total", ids),
            .scalar("Nsubhalos_ThisFile", UInt64(0)), .scalar("Nsubhalos_Total", UInt64(0)),
            .scalar("NumFiles", Int32(1)),
            .scalar("Redshift", redshift),
            .scalar("Time", time),
        ])
        try file.root.createGroup("Parameters").attributes.write(parameters)
        try file.root.createGroup("Config").attributes.write(config)
        if count > 0 {
            let group = try file.root.createGroup("Group")
            func dataset<T: HDF5Element>(_ name: String, _ values: [T], columns: Int) throws {
                let d = try group.createDataset(name, of: T.self, shape: columns == 1 ? [count] : [count, columns])
                try d.write(values, startRow: 0)
            }
            try dataset("GroupAscale", [Float](repeating: Float(time), count: count), columns: 1)
            try dataset("GroupLen", length, columns: 1)
            try dataset("GroupLenType", length.flatMap { [0, $0] }, columns: 2)
            try dataset("GroupMass", mass.map(Float.init), columns: 1)
            try dataset("GroupMassType", mass.flatMap { [0, Float($0)] }, columns: 2)
            try dataset("GroupOffsetType", offset.flatMap { [0, $0] }, columns: 2)
            try dataset("GroupPos", position.flatMap { [Float($0.x), Float($0.y), Float($0.z)] }, columns: 3)
            try dataset("GroupVel", velocity.flatMap { [Float($0.x), Float($0.y), Float($0.z)] }, columns: 3)
            _ = try file.root.createGroup("IDs")
        }
        try file.close()
    }

    /// GADGET-4's name for the catalogue of snapshot `number`.
    public static func path(directory: String, number: Int) -> String {
        "\(directory)/fof_tab_\(SnapshotPaths.threeDigits(number)).hdf5"
    }
}
