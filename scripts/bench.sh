#!/usr/bin/env bash
# Benchmark of g4sim on 2 MPI ranks: GADGET-4's reference 32³ run to z = 0,
# and a 64³ box from g4sim's own 2LPT initial conditions (to a = 0.1 by
# default, the expensive high-redshift phase; BENCH_64_TIMEMAX=1.0 for z = 0).
# Prints wall time, peak memory, steps, force evaluations per second and the
# split of the time; GADGET-4 took 638 s on the same 32³ case on this machine
# kind (../shared/SOLVER-NOTES.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
swift build -c release --product g4sim
g4sim="$PWD/.build/release/g4sim"
ref="$(cd ../shared/reference/N32 && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== N32: GADGET-4's reference ICs and parameters, 2 ranks"
mkdir "$work/n32" && cd "$work/n32"
cp "$ref/param.txt" "$ref/outputs.txt" . && ln -s "$ref/ic_N32.hdf5" .
mpirun -np 2 --bind-to none "$g4sim" run param.txt | grep '^g4sim:'

echo "== 64³ box from g4sim's own 2LPT ICs, 2 ranks, to a = ${BENCH_64_TIMEMAX:-0.1}"
mkdir "$work/n64" && cd "$work/n64"
sed -e "s/^TimeMax.*/TimeMax ${BENCH_64_TIMEMAX:-0.1}/" -e 's/^OutputListOn.*/OutputListOn 0/' \
    -e 's/^TimeOfFirstSnapshot.*/TimeOfFirstSnapshot 1.0/' -e 's/^TimeBetSnapshot.*/TimeBetSnapshot 2.0/' \
    -e 's/^SofteningComovingClass0.*/SofteningComovingClass0 0.02/' -e 's/^SofteningMaxPhysClass0.*/SofteningMaxPhysClass0 0.02/' \
    -e 's/^PMGRID.*/PMGRID 128/' -e '/^FOF/d' -e '/^POWERSPEC_ON_OUTPUT/d' "$ref/param.txt" > param.txt
cat >> param.txt <<PARAMS
NGENIC 64
NGENIC_2LPT 1
NSample 64
GridSize 64
Seed 181170
SphereMode 1
PowerSpectrumType 0
ReNormalizeInputSpectrum 1
PrimordialIndex 1.0
ShapeGamma 0.21
Sigma8 0.9
PowerSpectrumFile powerspec
InputSpectrum_UnitLength_in_cm 3.085678e21
PARAMS
mpirun -np 2 --bind-to none "$g4sim" run param.txt | grep '^g4sim:'
