#!/usr/bin/env bash
# Sets up everything the tests need and runs them all: unit tests, the
# multi-rank MPI tests (mpirun with 1-3 ranks) and the h5py/colossus checks,
# then the slow group: full simulations against GADGET-4's reference run and
# analytic solutions (with the release build of g4sim).
# g4api's tests are among the fast ones: the job model, both job stores (SQLite
# and a throwaway PostgreSQL 15 server that the tests start on 127.0.0.1 and
# stop), the local backend and the API with the real g4sim, and a real g4api
# process killed with SIGKILL while clients POST.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-test-python
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export G4_PYTHON="$PWD/.build/test-venv/bin/python"
swift build --build-tests
swift build -c release --product g4sim
export G4SIM="$PWD/.build/release/g4sim"
echo "== fast tests (solver units and MPI; g4api: Jobs, JobStore on SQLite + PostgreSQL, Scheduling, SubmissionAPI)"
swift test --skip-build --skip SolverValidationTests
echo "== solver validation (full simulations)"
swift test --skip-build --no-parallel --filter SolverValidationTests
