// FFTW3 with its MPI layer. fftw3-mpi.h needs mpi.h first.
#ifndef G4_CFFTW_H
#define G4_CFFTW_H
#include <mpi.h>
#include <fftw3.h>
#include <fftw3-mpi.h>

static inline unsigned cfftw_estimate(void) { return FFTW_ESTIMATE; }
static inline unsigned cfftw_measure(void) { return FFTW_MEASURE; }
static inline unsigned cfftw_mpi_transposed_out(void) { return FFTW_MPI_TRANSPOSED_OUT; }
static inline unsigned cfftw_mpi_transposed_in(void) { return FFTW_MPI_TRANSPOSED_IN; }
static inline unsigned cfftw_unaligned(void) { return FFTW_UNALIGNED; }
static inline ptrdiff_t cfftw_mpi_default_block(void) { return FFTW_MPI_DEFAULT_BLOCK; }
static inline int cfftw_forward(void) { return FFTW_FORWARD; }
static inline int cfftw_backward(void) { return FFTW_BACKWARD; }
#endif
