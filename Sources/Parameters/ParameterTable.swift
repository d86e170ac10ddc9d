/// Every parameter g4sim understands: GADGET-4's run-time parameters for a
/// periodic dark-matter box (the set its `register_parameters` adds for a
/// TreePM + NGENIC + CREATE_GRID build), and the Config.sh options that matter
/// at run time, under the same names and with GADGET-4's defaults.
///
/// The service validates job parameters against this same table.
public enum ParameterTable {
    public static let gadget4: [ParameterSpec] = files + cosmology + timeAndLimits + units + accuracy
        + formats + softening + unusedByDarkMatter + initialConditions + compileTimeOptions

    /// Parameters that may change when a run is resumed from restart files
    /// (GADGET-4's PARAM_CHANGEABLE, plus the output options); the others fix
    /// the physics, and restart files refuse a file where they differ.
    public static let changeableOnRestart: Set<String> = [
        "OutputDir", "SnapshotFileBase", "OutputListFilename", "OutputListOn", "MaxMemSize", "TimeOfFirstSnapshot",
        "CpuTimeBetRestartFile", "TimeBetStatistics", "TimeBetSnapshot", "ErrTolIntAccuracy", "ErrTolTheta",
        "ErrTolThetaMax", "ErrTolForceAcc", "MaxSizeTimestep", "MinSizeTimestep", "ArtBulkViscConst", "CourantFac",
        "DesNumNgb", "TopNodeFactor", "ActivePartFracForNewDomainDecomp", "ActivePartFracForPMinsteadOfEwald",
        "MaxNumNgbDeviation", "ICFormat", "SnapFormat", "NumFilesPerSnapshot", "MaxFilesWithConcurrentIO",
        "TimeLimitCPU", "MinEgySpec", "InitCondFile", "FOF", "FOF_LINKLENGTH", "FOF_GROUP_MIN_LEN",
        "POWERSPEC_ON_OUTPUT", "DOUBLEPRECISION", "IDS_32BIT",
    ]

    /// Lookup by exact, case-sensitive name (GADGET-4 names are case-sensitive).
    public static func spec(named name: String) -> ParameterSpec? { byName[name] }

    private static let byName: [String: ParameterSpec] = Dictionary(
        uniqueKeysWithValues: gadget4.map { ($0.name, $0) })

    static let files: [ParameterSpec] = [
        .init("InitCondFile", .string, "initial conditions file (without .hdf5 for ICFormat 3)"),
        .init("OutputDir", .string, "directory for snapshots, catalogues, spectra and logs"),
        .init("SnapshotFileBase", .string, "base name of snapshot files"),
        .init("OutputListFilename", .string, "file with the output scale factors, one per line"),
        .init("OutputListOn", .integer, choices: [0, 1], "1: output at the times in OutputListFilename"),
    ]

    static let cosmology: [ParameterSpec] = [
        .init("Omega0", .real, min: 0, max: 10, "total matter density today, in units of the critical density"),
        .init("OmegaBaryon", .real, min: 0, max: 10, "baryon density today (enters the Eisenstein-Hu spectrum)"),
        .init("OmegaLambda", .real, min: -10, max: 10, "cosmological constant density today"),
        .init("Hubble", .real, above: 0, "H0 in internal units (100 for km/s/(Mpc/h))"),
        .init("HubbleParam", .real, above: 0, max: 10, "h, H0 / (100 km/s/Mpc)"),
        .init("BoxSize", .real, above: 0, "periodic box side, comoving, internal length units"),
    ]

    static let timeAndLimits: [ParameterSpec] = [
        .init("MaxMemSize", .integer, above: 0, "memory per rank, in MB; the run stops when exceeded"),
        .init("TimeOfFirstSnapshot", .real, min: 0, "first output time when OutputListOn is 0"),
        .init("CpuTimeBetRestartFile", .real, min: 0, "seconds between restart files"),
        .init("TimeBetStatistics", .real, min: 0, "interval of the energy statistics"),
        .init("TimeBegin", .real, above: 0, "initial scale factor"),
        .init("TimeMax", .real, above: 0, "final scale factor"),
        .init("TimeBetSnapshot", .real, min: 0, "factor between output scale factors when OutputListOn is 0"),
        .init("TimeLimitCPU", .real, above: 0, "wall-clock seconds; the run stops cleanly at 85 % of it"),
        .init("ComovingIntegrationOn", .integer, choices: [1], "1: comoving cosmological integration (the only mode)"),
    ]

    static let units: [ParameterSpec] = [
        .init("UnitVelocity_in_cm_per_s", .real, above: 0, "internal velocity unit in cm/s"),
        .init("UnitLength_in_cm", .real, above: 0, "internal length unit in cm"),
        .init("UnitMass_in_g", .real, above: 0, "internal mass unit in g"),
        .init("GravityConstantInternal", .real, min: 0, "G in internal units; 0 computes it from the units"),
    ]

    static let accuracy: [ParameterSpec] = [
        .init("ErrTolIntAccuracy", .real, above: 0, max: 1, "time-step accuracy η in Δt = sqrt(2 η ε / |a|)"),
        .init("ErrTolTheta", .real, above: 0, max: 2, "opening angle of the first, geometric tree walk"),
        .init("ErrTolThetaMax", .real, above: 0, max: 2, "largest opening angle allowed by the relative criterion"),
        .init("ErrTolForceAcc", .real, above: 0, max: 1, "relative force accuracy of the opening criterion"),
        .init("MaxSizeTimestep", .real, above: 0, max: 1, "largest time step, in ln a"),
        .init("MinSizeTimestep", .real, min: 0, max: 1, "smallest time step, in ln a"),
        .init("TopNodeFactor", .real, above: 0, "top-level tree nodes per rank in the domain decomposition"),
        .init("ActivePartFracForNewDomainDecomp", .real, min: 0, max: 1,
              "fraction of active particles above which the domain is decomposed anew"),
        .init("ActivePartFracForPMinsteadOfEwald", .real, min: 0, max: 1,
              "kept for compatibility (TREEPM_NOTIMESPLIT)"),
        .init("TypeOfOpeningCriterion", .integer, choices: [0, 1], "0: geometric (Barnes-Hut), 1: relative"),
    ]

    static let formats: [ParameterSpec] = [
        .init("ICFormat", .integer, choices: [1, 3], "initial conditions: 1 GADGET binary format 1, 3 HDF5"),
        .init("SnapFormat", .integer, choices: [3], "snapshot format: 3 HDF5"),
        .init("NumFilesPerSnapshot", .integer, min: 1, "files each snapshot is split into"),
        .init("MaxFilesWithConcurrentIO", .integer, min: 0, "kept for compatibility (parallel HDF5 writes collectively)"),
    ]

    static let softening: [ParameterSpec] = [
        .init("SofteningComovingClass0", .real, above: 0, "comoving Plummer-equivalent softening"),
        .init("SofteningMaxPhysClass0", .real, above: 0, "largest physical softening"),
        .init("SofteningClassOfPartType0", .integer, choices: [0], "softening class of gas (no gas here)"),
        .init("SofteningClassOfPartType1", .integer, choices: [0], "softening class of dark matter"),
    ]

    /// Parameters GADGET-4 requires but that do nothing for dark matter only;
    /// accepted so its parameter files run unchanged.
    static let unusedByDarkMatter: [ParameterSpec] = [
        .init("ArtBulkViscConst", .real, min: 0, "SPH only"),
        .init("CourantFac", .real, min: 0, "SPH only"),
        .init("DesNumNgb", .integer, min: 0, "SPH only"),
        .init("MaxNumNgbDeviation", .real, min: 0, "SPH only"),
        .init("InitGasTemp", .real, min: 0, "SPH only"),
        .init("MinEgySpec", .real, min: 0, "SPH only"),
    ]

    static let initialConditions: [ParameterSpec] = [
        .init("NSample", .integer, needed: .requiredForGeneratedICs, min: 1, max: 16384, "particles per dimension of the IC grid"),
        .init("GridSize", .integer, needed: .requiredForGeneratedICs, min: 1, max: 16384, "FFT grid per dimension for the IC field"),
        .init("Seed", .integer, needed: .requiredForGeneratedICs, min: 0, max: 2_147_483_647, "random seed of the IC phases"),
        .init("SphereMode", .integer, needed: .requiredForGeneratedICs, choices: [0, 1], "1: only modes with |k| ≤ k_Nyquist"),
        .init("PowerSpectrumType", .integer, needed: .requiredForGeneratedICs, choices: [0, 1, 2, 3],
              "0 Efstathiou shape-Γ, 1 Eisenstein-Hu no-wiggle, 2 table, 3 Eisenstein-Hu with wiggles"),
        .init("ReNormalizeInputSpectrum", .integer, needed: .requiredForGeneratedICs, choices: [0, 1],
              "1: normalise to Sigma8 (always for analytic spectra)"),
        .init("PrimordialIndex", .real, needed: .requiredForGeneratedICs, min: 0, max: 3, "primordial spectral index n_s"),
        .init("ShapeGamma", .real, needed: .requiredForGeneratedICs, above: 0, "shape parameter Γ of the Efstathiou spectrum"),
        .init("Sigma8", .real, needed: .requiredForGeneratedICs, above: 0, max: 10, "rms linear overdensity in 8 Mpc/h spheres at z = 0"),
        .init("PowerSpectrumFile", .string, needed: .requiredForGeneratedICs, "table of log10 k, log10 Δ²(k) (PowerSpectrumType 2)"),
        .init("InputSpectrum_UnitLength_in_cm", .real, needed: .requiredForGeneratedICs, above: 0, "length unit of the table's k"),
    ]

    /// Config.sh options that change what a run does, as parameters with
    /// GADGET-4's defaults. Options that g4sim always has (PERIODIC,
    /// SELFGRAVITY, TREEPM_NOTIMESPLIT, ...) are accepted when switched on.
    static let compileTimeOptions: [ParameterSpec] = [
        .init("PMGRID", .integer, needed: .optional(nil), origin: .compileTime, min: 4, max: 16384,
              "PM mesh cells per dimension (default: twice the particle grid, as in the reference run)"),
        .init("ASMTH", .real, needed: .optional(.real(1.25)), origin: .compileTime, above: 0, max: 10,
              "long/short-range split scale, in PM cells"),
        .init("RCUT", .real, needed: .optional(.real(7.0)), origin: .compileTime, above: 0, max: 20,
              "short-range cut-off, in units of the split scale"),
        .init("NGENIC", .integer, needed: .optional(.integer(0)), origin: .compileTime, min: 0, max: 16384,
              "generate initial conditions (FFT grid size; 0: read InitCondFile)"),
        .init("NGENIC_2LPT", .flag, needed: .optional(.integer(0)), origin: .compileTime, "second-order LPT initial conditions"),
        .init("CREATE_GRID", .flag, needed: .optional(.integer(1)), origin: .compileTime, choices: [1],
              "unperturbed particles on a grid (glass files are not supported)"),
        .init("IDS_32BIT", .flag, needed: .optional(.integer(0)), origin: .compileTime, "32-bit particle IDs in output"),
        .init("FOF", .flag, needed: .optional(.integer(0)), origin: .compileTime, "friends-of-friends groups at each output"),
        .init("FOF_LINKLENGTH", .real, needed: .optional(.real(0.2)), origin: .compileTime, above: 0, max: 1,
              "FoF linking length, in units of the mean particle spacing"),
        .init("FOF_GROUP_MIN_LEN", .integer, needed: .optional(.integer(32)), origin: .compileTime, min: 2,
              "fewest particles in a FoF group"),
        .init("POWERSPEC_ON_OUTPUT", .flag, needed: .optional(.integer(0)), origin: .compileTime,
              "matter power spectrum at each output"),
        .init("RANDOMIZE_DOMAINCENTER", .flag, needed: .optional(.integer(0)), origin: .compileTime,
              "shift the box by a random vector each domain decomposition"),
        .init("PERIODIC", .flag, needed: .optional(.integer(1)), origin: .compileTime, choices: [1], "periodic box (always)"),
        .init("SELFGRAVITY", .flag, needed: .optional(.integer(1)), origin: .compileTime, choices: [1], "self-gravity (always)"),
        .init("TREEPM_NOTIMESPLIT", .flag, needed: .optional(.integer(1)), origin: .compileTime, choices: [1],
              "long- and short-range forces on the same steps (always)"),
        .init("POSITIONS_IN_32BIT", .flag, needed: .optional(.integer(0)), origin: .compileTime,
              "accepted for compatibility; positions are integers internally"),
        .init("LEAN", .flag, needed: .optional(.integer(0)), origin: .compileTime, "accepted for compatibility"),
        .init("DOUBLEPRECISION", .integer, needed: .optional(.integer(0)), origin: .compileTime, choices: [0, 1, 2],
              "output precision: 1 writes double-precision positions and velocities"),
    ]
}
