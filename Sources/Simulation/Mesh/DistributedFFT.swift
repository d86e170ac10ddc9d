import CFFTW
import Parallel

/// A cubic n³ real-to-complex FFT distributed over the ranks in x-slabs.
/// Real space: rank owns x-planes [firstPlane, firstPlane + localPlanes),
/// each plane n × n with rows padded to 2(n/2+1). Fourier space is left
/// transposed (FFTW-MPI's TRANSPOSED_OUT layout, which saves a global
/// transpose): the rank owns ky-planes [firstKPlane, +localKPlanes), each
/// holding kx in 0..<n and kz in 0...n/2.
///
/// The transform is composed of one-dimensional FFTW transforms, each
/// applied to one plane at a time with the same plan on every rank, and
/// FFTW-MPI's global transpose, which only moves data. So every mode gets
/// exactly the same arithmetic whatever the number of ranks, and results
/// are bit-identical on 1, 2 or 3 ranks (FFTW-MPI's own 3-d plans choose
/// their algorithms by slab thickness, and a rank count changes the last
/// bits; in a chaotic N-body run those bits grow).
///
/// One in-place work array; transforms are unnormalised (backward(forward(f)) = n³ f).
public final class DistributedFFT {
    public let n: Int
    public let communicator: Communicator
    public let localPlanes: Int
    public let firstPlane: Int
    public let localKPlanes: Int
    public let firstKPlane: Int
    /// Doubles per padded row: 2(n/2 + 1).
    public let rowStride: Int
    /// Complex values per row: n/2 + 1.
    public var complexRowLength: Int { n / 2 + 1 }
    /// The work array, viewed as reals (padded rows).
    public let real: UnsafeMutablePointer<Double>
    /// The same memory viewed as complex numbers (re, im) in the transposed layout.
    public var complex: UnsafeMutablePointer<Double> { real }
    /// Doubles allocated (≥ 2 × FFTW's local complex count).
    public let allocatedDoubles: Int
    /// Per plane: real-to-complex and back along z (n rows).
    private let rowsForward: fftw_plan
    private let rowsBackward: fftw_plan
    /// Per plane: complex transforms along the plane's first axis (y in real
    /// space, kx after the transpose), one per kz column.
    private let columnsForward: fftw_plan
    private let columnsBackward: fftw_plan
    /// (x, ky) ↔ (ky, x) across ranks, each element one row of n/2+1 complex
    /// values (square and with the same blocks both ways, so one plan serves both).
    private let transpose: fftw_plan
    /// For every x-plane, the rank that owns it.
    public let planeOwner: [Int]

    nonisolated(unsafe) private static var initialized = false

    public init(n: Int, communicator: Communicator) {
        precondition(n >= 2, "FFT grid must have at least 2 cells per side")
        if !Self.initialized {
            fftw_mpi_init()
            Self.initialized = true
        }
        self.n = n
        self.communicator = communicator
        rowStride = 2 * (n / 2 + 1)
        var ln0 = 0, l0s = 0, ln1 = 0, l1s = 0
        let complexCount = fftw_mpi_local_size_3d_transposed(n, n, n / 2 + 1, communicator.handle, &ln0, &l0s, &ln1, &l1s)
        localPlanes = ln0
        firstPlane = l0s
        localKPlanes = ln1
        firstKPlane = l1s
        allocatedDoubles = max(2 * complexCount, 2 * n * (n / 2 + 1))
        real = fftw_alloc_real(allocatedDoubles)!
        real.initialize(repeating: 0, count: allocatedDoubles)
        let complexPointer = UnsafeMutablePointer<fftw_complex>(OpaquePointer(real))
        // Unaligned plans, so a plane at any offset runs the same codelets.
        let flags = cfftw_estimate() | cfftw_unaligned()
        let half = Int32(n / 2 + 1)
        var length = Int32(n)
        rowsForward = fftw_plan_many_dft_r2c(1, &length, Int32(n), real, nil, 1, Int32(rowStride),
                                             complexPointer, nil, 1, half, flags)!
        rowsBackward = fftw_plan_many_dft_c2r(1, &length, Int32(n), complexPointer, nil, 1, half,
                                              real, nil, 1, Int32(rowStride), flags)!
        columnsForward = fftw_plan_many_dft(1, &length, half, complexPointer, nil, half, 1,
                                            complexPointer, nil, half, 1, cfftw_forward(), flags)!
        columnsBackward = fftw_plan_many_dft(1, &length, half, complexPointer, nil, half, 1,
                                             complexPointer, nil, half, 1, cfftw_backward(), flags)!
        let block = cfftw_mpi_default_block()
        transpose = fftw_mpi_plan_many_transpose(n, n, rowStride, block, block, real, real,
                                                 communicator.handle, cfftw_estimate())!
        let firsts = communicator.allgather(l0s)
        let counts = communicator.allgather(ln0)
        var owner = [Int](repeating: 0, count: n)
        for r in 0..<firsts.count where counts[r] > 0 {
            for x in firsts[r]..<(firsts[r] + counts[r]) { owner[x] = r }
        }
        planeOwner = owner
    }

    deinit {
        for plan in [rowsForward, rowsBackward, columnsForward, columnsBackward, transpose] {
            fftw_destroy_plan(plan)
        }
        fftw_free(real)
    }

    /// Doubles per plane (n rows of n/2+1 complex values).
    private var planeDoubles: Int { n * rowStride }

    @inline(__always)
    private func plane(_ p: Int) -> UnsafeMutablePointer<fftw_complex> {
        UnsafeMutablePointer<fftw_complex>(OpaquePointer(real + p * planeDoubles))
    }

    /// Real space → Fourier space, in place. Collective.
    public func forward() {
        for p in 0..<localPlanes {
            fftw_execute_dft_r2c(rowsForward, real + p * planeDoubles, plane(p))
            fftw_execute_dft(columnsForward, plane(p), plane(p))
        }
        // The transpose moves (x, ky) rows into (ky, x): after the n × n transpose the
        // local planes are ky planes holding (kx, kz).
        fftw_execute(transpose)
        for p in 0..<localKPlanes { fftw_execute_dft(columnsForward, plane(p), plane(p)) }
    }

    /// Fourier space → real space, in place, unnormalised. Collective.
    public func backward() {
        for p in 0..<localKPlanes { fftw_execute_dft(columnsBackward, plane(p), plane(p)) }
        fftw_execute(transpose)
        for p in 0..<localPlanes {
            fftw_execute_dft(columnsBackward, plane(p), plane(p))
            fftw_execute_dft_c2r(rowsBackward, plane(p), real + p * planeDoubles)
        }
    }

    /// Sets every real cell (and the padding) to zero.
    public func clear() { real.update(repeating: 0, count: allocatedDoubles) }

    /// Offset of real cell (x - firstPlane, y, z).
    @inline(__always)
    public func realIndex(localPlane x: Int, _ y: Int, _ z: Int) -> Int { (x * n + y) * rowStride + z }

    /// Offset (in doubles) of the real part of mode (kx, ky, kz) with ky local
    /// (ky - firstKPlane); the imaginary part follows it.
    @inline(__always)
    public func complexIndex(localKPlane y: Int, _ x: Int, _ z: Int) -> Int { 2 * ((y * n + x) * complexRowLength + z) }

    /// Signed wavenumber index of grid index i (0...n/2, then negative).
    @inline(__always)
    public func signedMode(_ i: Int) -> Int { i <= n / 2 ? i : i - n }
}
