/// One rank's share of the dark-matter particles, in GADGET's conventions:
/// comoving positions, velocities as u = v_peculiar / √a, 64-bit IDs.
/// Arrays of x, y, z interleaved (3 per particle), as the files store them.
public struct ParticleBlock: Sendable, Equatable {
    public var positions: [Double]
    public var velocities: [Double]
    public var ids: [UInt64]

    public init(positions: [Double] = [], velocities: [Double] = [], ids: [UInt64] = []) {
        precondition(positions.count == 3 * ids.count && velocities.count == 3 * ids.count,
                     "a particle block needs 3 position and 3 velocity components per ID")
        self.positions = positions
        self.velocities = velocities
        self.ids = ids
    }

    public var count: Int { ids.count }
}

/// The `/Header` of a GADGET-4 snapshot for a dark-matter-only run, plus the
/// groups that record how the run was made.
public struct SnapshotHeader: Sendable, Equatable {
    public var boxSize: Double
    public var time: Double
    public var redshift: Double
    /// Mass of every dark-matter particle (MassTable[1]).
    public var particleMass: Double
    public var totalParticles: UInt64
    public var numFiles: Int
    /// Width of ParticleIDs in the file (32 as with GADGET-4's IDS_32BIT, or 64).
    public var idBits: Int
    /// Git_commit / Git_date: which code wrote the file.
    public var codeVersion: String
    public var codeDate: String
    /// Cosmology when the file records it (format 1 headers, `/Parameters`).
    public var omega0: Double?
    public var omegaLambda: Double?
    public var hubbleParam: Double?
    /// `/Parameters` and `/Config` attributes, carried along verbatim.
    public var parameters: [Attribute]
    public var config: [Attribute]

    public init(boxSize: Double, time: Double, redshift: Double? = nil, particleMass: Double, totalParticles: UInt64,
                numFiles: Int = 1, idBits: Int = 64, codeVersion: String = G4Version.commit,
                codeDate: String = G4Version.date, omega0: Double? = nil, omegaLambda: Double? = nil,
                hubbleParam: Double? = nil, parameters: [Attribute] = [], config: [Attribute] = []) {
        self.boxSize = boxSize
        self.time = time
        self.redshift = redshift ?? (1 / time - 1)
        self.particleMass = particleMass
        self.totalParticles = totalParticles
        self.numFiles = numFiles
        self.idBits = idBits
        self.codeVersion = codeVersion
        self.codeDate = codeDate
        self.omega0 = omega0
        self.omegaLambda = omegaLambda
        self.hubbleParam = hubbleParam
        self.parameters = parameters
        self.config = config
    }
}

/// What g4sim writes into Git_commit and Git_date.
public enum G4Version {
    public static let commit = "g4sim-0.1.0"
    public static let date = "2026-11-29"
}

/// Errors in the content (not the I/O) of a snapshot or IC file, phrased for
/// the user who supplied the file.
public struct SnapshotFormatError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
