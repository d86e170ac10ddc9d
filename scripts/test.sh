#!/usr/bin/env bash
# Sets up everything the tests need and runs them all, in groups:
#   build      debug build with tests, release g4sim
#   fast       unit tests, the multi-rank MPI tests (mpirun with 1-3 ranks),
#              the h5py/colossus checks, and g4api's tests: the job model, both
#              job stores (SQLite and a throwaway PostgreSQL 15 server on
#              127.0.0.1), the local backend and the API with the real g4sim,
#              and a real g4api process killed with SIGKILL while clients POST
#   users      the users' side end to end: GADGET-4's N32 param.txt submitted
#              with `g4 submit --follow` and run to z = 0 on 2 ranks, the
#              dashboard in headless chromium while it runs and after, and its
#              results downloaded with an interrupted download resumed
#   solver     full simulations against GADGET-4's reference run and analytic
#              solutions (release g4sim)
# Each group's time is printed at the end (CI's budget is 75 minutes).
#
# STRESS=N scripts/test.sh: instead, runs the fast group N times in a row
# with every core kept busy by `stress-ng --cpu <cores>` for the whole time,
# as on a slower or loaded machine; prints each run's result and fails if
# any run failed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-test-python ${STRESS:+--with-stress}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export G4_PYTHON="$PWD/.build/test-venv/bin/python"
export G4SIM="$PWD/.build/release/g4sim"

names=() times=() results=()
report() {
  echo "== group times"
  for i in "${!names[@]}"; do printf '  %-12s %6d s  %s\n' "${names[$i]}" "${times[$i]}" "${results[$i]}"; done
  printf '  %-12s %6d s\n' total "$SECONDS"
}
trap report EXIT
# group NAME COMMAND...: runs the command, records its time and result.
group() {
  local name=$1 start=$SECONDS status=0
  shift
  echo "== $name: $*"
  "$@" || status=$?
  names+=("$name") times+=($((SECONDS - start))) results+=("$([ $status = 0 ] && echo ok || echo "FAILED ($status)")")
  return $status
}
# Builds share the machine's lock (one Swift build at a time on 2 cores).
locked() { if command -v flock >/dev/null; then flock -o /tmp/g4-swift-build.lock "$@"; else "$@"; fi; }
build() {
  locked swift build --build-tests
  locked swift build -c release --product g4sim
}
fast() { swift test --skip-build --skip SolverValidationTests --skip ReferenceRunThroughTheCLITests; }
users() { swift test --skip-build --filter ReferenceRunThroughTheCLITests; }
solver() { swift test --skip-build --no-parallel --filter SolverValidationTests; }

group build build

# The users group's N32 run on 2 ranks doubles as the solver group's 2-rank
# reference run (Tests/SolverValidationTests/SimulationRuns.swift).
export G4_SHARED_RUNS="$PWD/.build/shared-runs"
rm -rf "$G4_SHARED_RUNS" && mkdir -p "$G4_SHARED_RUNS"

if [ -n "${STRESS:-}" ]; then
  runs=$STRESS
  [ "$runs" -ge 1 ] 2>/dev/null || runs=1
  stress-ng --cpu "$(nproc)" --quiet &
  hog=$!
  trap 'kill $hog 2>/dev/null; report' EXIT
  failed=0
  for i in $(seq "$runs"); do
    group "fast+load#$i" fast || failed=$((failed + 1))
  done
  echo "== $((runs - failed)) of $runs fast runs passed with $(nproc) cores kept busy by stress-ng"
  exit $((failed > 0))
fi

group fast fast
group users users
group solver solver
