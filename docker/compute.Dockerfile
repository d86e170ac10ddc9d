# g4sim with Open MPI, parallel HDF5 and FFTW: the image each simulation
# Job runs (`mpirun -np N g4sim run param.txt`). Build from the repository root:
#   docker build -f docker/compute.Dockerfile -t ghcr.io/g4-project/g4-compute:TAG .
# G4_TARGET_CPU picks the CPU the force kernels are compiled for (haswell:
# AVX2 + FMA; x86-64 for any x86-64 node).

ARG SWIFT_IMAGE=swift:6.3.1-bookworm

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      pkg-config libsqlite3-dev libopenmpi-dev libhdf5-openmpi-dev libfftw3-dev libfftw3-mpi-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# SwiftPM loads every target of the manifest, tests included.
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
ARG G4_TARGET_CPU=haswell
RUN G4_TARGET_CPU=${G4_TARGET_CPU} swift build -c release --static-swift-stdlib --product g4sim \
 && mkdir -p /out \
 && cp .build/release/g4sim /out/

FROM debian:bookworm-slim
# Runtime libraries only: Open MPI (and mpirun), HDF5 built on it, FFTW and
# FFTW-MPI; their own dependencies come with them.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openmpi-bin libopenmpi3 libhdf5-openmpi-103-1 libfftw3-double3 libfftw3-mpi3 libstdc++6 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /work --create-home --shell /usr/sbin/nologin g4
COPY --from=build /out/g4sim /usr/local/bin/
# In a container: no ptrace between ranks for single-copy transfers, and
# the shared-memory files in the pod's /tmp (an emptyDir).
ENV OMPI_MCA_btl_vader_single_copy_mechanism=none \
    OMPI_MCA_rmaps_base_oversubscribe=true \
    TMPDIR=/tmp
USER 10001:10001
WORKDIR /work
CMD ["/usr/local/bin/g4sim", "params", "list"]
