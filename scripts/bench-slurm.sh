#!/usr/bin/env bash
# Benchmark of the Slurm sync loop (not a test): 500 jobs pending in a real
# one-node Slurm cluster (slurm/cluster), followed by one g4sync.
#   1. per watch pass: wall time and commands started (forks), from g4sync's
#      own pass reports (LOG_LEVEL=debug), over several passes;
#   2. the lag from the end time sacct records for a job to the moment the
#      store holds its final state, for all 500 once they are released.
# g4api only submits (SYNC=submit); g4sync watches (SYNC=watch) with
# SLURM_POLL_SECONDS (default 10, as on a real site). The jobs run a stand-in
# solver that exits at once: the numbers are the sync loop's, not g4sim's.
# Usage: scripts/bench-slurm.sh [jobs] (default 500)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${1:-500}
poll=${SLURM_POLL_SECONDS:-10}
scripts/setup.sh
slurm/install-packages
swift build -c release --product g4api --product g4sync > /dev/null
bin=$PWD/.build/release

work=$(mktemp -d /tmp/g4bench-slurm-XXXX)
cluster=$work/cluster
cleanup() {
  [ -n "${api_pid:-}" ] && kill "$api_pid" 2>/dev/null || true
  [ -n "${sync_pid:-}" ] && kill "$sync_pid" 2>/dev/null || true
  slurm/cluster stop "$cluster" || true
}
trap cleanup EXIT
slurm/cluster start "$cluster"
export SLURM_CONF=$cluster/etc/slurm.conf

# Jobs are submitted held, so that all of them pend at once.
cat > "$work/site.conf" <<EOF
directive = --hold
EOF
cat > "$work/solver" <<'EOF'
#!/bin/sh
echo "stand-in solver"
EOF
chmod +x "$work/solver"
export DATABASE_URL="sqlite:///$work/g4.db" BACKENDS=slurm SLURM_JOBS_DIR=$cluster/jobs/bench SLURM_G4SIM=$work/solver
export SLURM_SITE_CONFIG=$work/site.conf SLURM_POLL_SECONDS=$poll TEMPLATES_DIR=$PWD/templates API_PORT=${API_PORT:-18090}
token=$("$bin/g4api" token create --user bench | tail -1)
SYNC=submit LOG_LEVEL=warning "$bin/g4api" serve 2> "$work/g4api.log" &
api_pid=$!
SYNC=watch LOG_LEVEL=debug "$bin/g4sync" 2> "$work/g4sync.log" &
sync_pid=$!
for _ in $(seq 100); do curl -sf "localhost:$API_PORT/health" > /dev/null && break; sleep 0.2; done

echo "== submitting $jobs jobs"
seq "$jobs" | xargs -P 8 -I{} curl -sf -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  --data '{"name": "bench {}", "resources": {"memory_mb": 16}}' "localhost:$API_PORT/api/v1/jobs"
count() { curl -sf -H "Authorization: Bearer $token" "localhost:$API_PORT/api/v1/jobs?phase=$1&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
until [ "$(count submitted)" = "$jobs" ]; do sleep 1; done
echo "== $jobs jobs pending in Slurm: $(squeue -h -t PD | wc -l)"

# Six full passes over the pending jobs.
start=$(grep -c '"watch pass"' "$work/g4sync.log" || true)
until [ $(( $(grep -c '"watch pass"' "$work/g4sync.log") - start )) -ge 6 ]; do sleep 1; done
grep '"watch pass"' "$work/g4sync.log" | tail -n 6 | python3 -c '
import json, sys, statistics
rows = [json.loads(l) for l in sys.stdin]
secs = [float(r["seconds"]) for r in rows]
cmds = [int(r["commands"]) for r in rows]
jobs = [int(r["jobs"]) for r in rows]
print(f"watch pass over {jobs[-1]} pending jobs: median {statistics.median(secs):.3f} s (min {min(secs):.3f}, max {max(secs):.3f}), commands per pass {sorted(set(cmds))}")'

echo "== releasing them; lag from sacct's End to the store's final state"
scontrol release $(squeue -h -t PD -o %i) > /dev/null
until [ "$(count completed)" = "$jobs" ]; do sleep 2; done
python3 - "$work/g4.db" <<'EOF'
import sqlite3, subprocess, sys, statistics, datetime
db = sqlite3.connect(sys.argv[1])
finished = {sid: us for sid, us in db.execute("SELECT scheduler_job_id, finished_at FROM jobs")}
out = subprocess.run(["sacct", "-a", "-X", "-n", "-P", "-S", "now-2hours", "-o", "JobIDRaw,End"], capture_output=True, text=True).stdout
lags = []
for line in out.splitlines():
    sid, end = line.split("|")
    if sid in finished and end not in ("Unknown", ""):
        t = datetime.datetime.fromisoformat(end).timestamp()
        lags.append(finished[sid] / 1e6 - t)
lags.sort()
p95 = lags[int(0.95 * (len(lags) - 1))]
print(f"lag sacct End -> store final state over {len(lags)} jobs: median {statistics.median(lags):.1f} s, 95th percentile {p95:.1f} s, max {lags[-1]:.1f} s (sacct End has 1 s resolution)")
EOF
