#!/usr/bin/env bash
# Installs what g4 needs on a Debian 12 machine (as root, only what is
# missing): the solver's libraries, PostgreSQL, Slurm for the test clusters;
# and creates the Python virtualenv the tests use.
set -euo pipefail
cd "$(dirname "$0")/.."
packages_extra=()
with_python=0
for option in "$@"; do
  case $option in
    --with-test-python) with_python=1 ;;
    --with-stress) packages_extra+=(stress-ng) ;;  # STRESS runs of scripts/test.sh keep the cores busy
    *) echo "setup: unknown option $option (known: --with-test-python, --with-stress)" >&2; exit 2 ;;
  esac
done

# The solver's MPI/HDF5/FFTW; g4api's SQLite; PostgreSQL 15 for the store tests
# (the tests start their own throwaway server); wrk for scripts/bench-api.sh;
# curl for the main job and the upload tests; chromium and its driver for the
# dashboard tests (selenium drives them).
packages=(pkg-config libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools libfftw3-dev libfftw3-mpi-dev libsqlite3-dev
          postgresql postgresql-client wrk curl util-linux procps chromium chromium-driver ${packages_extra[@]+"${packages_extra[@]}"})
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "setup: need root to install packages" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# k8s/ is rendered with `kubectl kustomize` (kustomize ≥ 4 for `labels`); the
# machines come with kubectl 1.32, Debian's kubernetes-client is the fallback.
if [ $with_python = 1 ] && ! command -v kubectl >/dev/null; then
  echo "setup: installing kubernetes-client (kubectl)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
fi

# The tests' Slurm clusters (slurm/cluster): Slurm 22.05, munge, MariaDB, iproute2.
[ $with_python = 1 ] && slurm/install-packages

# mpirun refuses root without these; CI runs as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

if [ $with_python = 1 ]; then
  venv=.build/test-venv
  # (Re)installed whenever Tests/requirements.txt differs from what the venv was made with.
  if [ ! -x "$venv/bin/python" ] || ! cmp -s Tests/requirements.txt "$venv/requirements.txt"; then
    echo "setup: installing Tests/requirements.txt into $venv (h5py, numpy, scipy, colossus, pynbody, openapi-spec-validator, moto, jsonschema, openapi-python-client, selenium)"
    mkdir -p .build
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r Tests/requirements.txt
    cp Tests/requirements.txt "$venv/requirements.txt"
  fi
fi
