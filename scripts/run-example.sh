#!/usr/bin/env bash
# The main job on this machine. Until the solver lands it validates the
# reference parameter files and describes GADGET-4's reference initial
# conditions; later it submits a simulation through g4api.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
swift build -c release --product g4sim
g4sim=.build/release/g4sim
echo "== checking GADGET-4's example parameter file"
$g4sim params check ../shared/reference/DM-L50-N128/param.txt | head -12
echo "== the reference 32^3 initial conditions, read on 2 MPI ranks and rewritten as 3 files"
out=$(mktemp -d)
mpirun -np 2 --oversubscribe --bind-to none $g4sim snapshot convert ../shared/reference/N32/ic_N32.hdf5 "$out/ic_N32" --files 3
$g4sim snapshot info "$out/ic_N32" | grep -v '^    '
echo "== files in $out"
ls -l "$out"
