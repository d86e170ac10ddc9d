#!/usr/bin/env bash
# Sets up everything the tests need and runs them all: unit tests, the
# multi-rank MPI tests (mpirun with 1-3 ranks) and the h5py/colossus checks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-test-python
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export G4_PYTHON="$PWD/.build/test-venv/bin/python"
swift build --build-tests
swift test --skip-build
