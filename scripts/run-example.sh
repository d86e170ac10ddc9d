#!/usr/bin/env bash
# The main job: starts g4api on SQLite with the local backend, creates a
# token, submits examples/lcdm-small.json (a small ΛCDM box) over REST,
# follows its progress and prints where the snapshots, FoF catalogues and
# power spectra are. Installs missing Debian packages (as root) first.
#   EXAMPLE=examples/other.json API_PORT=8001 scripts/run-example.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
swift build -c release --product g4sim
swift build -c release --product g4api
bin=$PWD/.build/release
example=${EXAMPLE:-examples/lcdm-small.json}
work=$PWD/runs/example-$(date +%Y%m%d-%H%M%S)
mkdir -p "$work"
export DATABASE_URL="sqlite:///$work/g4api.db"   # absolute path: four slashes
export RESULTS_DIR="$work/results" API_HOST=127.0.0.1 API_PORT=${API_PORT:-8000} G4SIM="$bin/g4sim"
base="http://$API_HOST:$API_PORT"

"$bin/g4api" serve >"$work/g4api.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
curl -sf "$base/health" >/dev/null || { echo "g4api did not start:"; cat "$work/g4api.log"; exit 1; }
echo "== g4api is up on $base (store $DATABASE_URL, jobs in $RESULTS_DIR)"

token=$("$bin/g4api" token create --user demo | tail -n 1)
echo "== created an API token for user demo"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
response=$(curl -sf -X POST "$base/api/v1/jobs" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' --data @"$example")
id=$(json 'd["id"]' <<<"$response")
echo "== submitted $example as job $id"

while :; do
  status=$(curl -sf "$base/api/v1/simulations/$id/status" -H "Authorization: Bearer $token")
  echo "$(date +%T)  $(json '"%-10s %6.2f %%   z = %s   eta %s s" % (d["phase"], d["progress"], "-" if d["redshift"] is None else "%.3f" % d["redshift"], "-" if d["eta_seconds"] is None else int(d["eta_seconds"]))' <<<"$status")"
  phase=$(json 'd["phase"]' <<<"$status")
  case $phase in completed|failed|cancelled|timed_out) break ;; esac
  sleep 5
done

echo "== last lines of the solver's output"
curl -sf "$base/api/v1/simulations/$id/logs?tail=5" -H "Authorization: Bearer $token" | json '"\n".join(d["lines"])'
[ "$phase" = completed ] || { echo "job ended $phase"; exit 1; }
echo "== results (also downloadable from $base/api/v1/simulations/$id/results/NAME)"
curl -sf "$base/api/v1/simulations/$id/results" -H "Authorization: Bearer $token" \
  | json '"\n".join("%12d  %s  %s" % (f["size"], f["sha256"][:16], f["name"]) for f in d["files"])'
out="$RESULTS_DIR/$id/output"
echo "== snapshots:       $(ls "$out"/snapshot_*.hdf5 | tr '\n' ' ')"
echo "== FoF catalogues:  $(ls "$out"/fof_tab_*.hdf5 2>/dev/null | tr '\n' ' ')"
echo "== power spectra:   $(ls "$out"/powerspecs/powerspec_*.txt 2>/dev/null | tr '\n' ' ')"
