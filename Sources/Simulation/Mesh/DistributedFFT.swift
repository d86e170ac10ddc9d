import CFFTW
import Parallel

/// A cubic n³ real-to-complex FFT distributed over the ranks in x-slabs
/// (FFTW-MPI). Real space: rank owns x-planes [firstPlane, firstPlane +
/// localPlanes), each plane n × n with rows padded to 2(n/2+1). Fourier
/// space is left transposed (FFTW_MPI_TRANSPOSED_OUT) to save a global
/// transpose: the rank owns ky-planes [firstKPlane, +localKPlanes), each
/// holding kx in 0..<n and kz in 0...n/2.
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
    private let forwardPlan: fftw_plan
    private let backwardPlan: fftw_plan
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
        allocatedDoubles = max(2 * complexCount, 2)
        real = fftw_alloc_real(allocatedDoubles)!
        real.initialize(repeating: 0, count: allocatedDoubles)
        let complexPointer = OpaquePointer(real)
        forwardPlan = fftw_mpi_plan_dft_r2c_3d(n, n, n, real, UnsafeMutablePointer(complexPointer), communicator.handle,
                                               cfftw_estimate() | cfftw_mpi_transposed_out())!
        backwardPlan = fftw_mpi_plan_dft_c2r_3d(n, n, n, UnsafeMutablePointer(complexPointer), real, communicator.handle,
                                                cfftw_estimate() | cfftw_mpi_transposed_in())!
        let firsts = communicator.allgather(l0s)
        let counts = communicator.allgather(ln0)
        var owner = [Int](repeating: 0, count: n)
        for r in 0..<firsts.count where counts[r] > 0 {
            for x in firsts[r]..<(firsts[r] + counts[r]) { owner[x] = r }
        }
        planeOwner = owner
    }

    deinit {
        fftw_destroy_plan(forwardPlan)
        fftw_destroy_plan(backwardPlan)
        fftw_free(real)
    }

    /// Real space → Fourier space, in place. Collective.
    public func forward() { fftw_execute(forwardPlan) }

    /// Fourier space → real space, in place, unnormalised. Collective.
    public func backward() { fftw_execute(backwardPlan) }

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
