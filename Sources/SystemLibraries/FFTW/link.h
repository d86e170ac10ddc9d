#include <mpi.h>
#include <fftw3-mpi.h>
