#!/usr/bin/env bash
# Benchmarks g4api (release build, SQLite, on 127.0.0.1) with wrk -t2 -c64:
#   1. GET /api/v1/jobs/{id} with a bearer token
#   2. GET /api/v1/jobs?limit=100 with 1,000 jobs in the store
#   3. POST /api/v1/jobs (durable: every 201 is fsync'ed)
# The sync loops are off (SYNC=none) so that no simulation competes for the cores.
#   DURATION=10s scripts/bench-api.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product g4api
bin=$PWD/.build/release
duration=${DURATION:-10s}
work=$(mktemp -d /tmp/g4bench.XXXXXX)
export DATABASE_URL="sqlite:///$work/bench.db" RESULTS_DIR="$work/results" API_HOST=127.0.0.1
export API_PORT=${API_PORT:-18080} SYNC=none LOG_LEVEL=warning
base="http://127.0.0.1:$API_PORT"
"$bin/g4api" serve >"$work/g4api.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
token=$("$bin/g4api" token create --user bench | tail -n 1)

# 1,000 jobs to read and list.
seq 1000 | xargs -P 8 -I{} curl -sf -o /dev/null -X POST "$base/api/v1/jobs" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' --data '{"name": "bench {}", "num_particles": 32768, "box_size": 50}'
id=$(curl -sf "$base/api/v1/jobs?limit=1" -H "Authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jobs"][0]["id"])')
total=$(curl -sf "$base/api/v1/jobs?limit=1" -H "Authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')

cat >"$work/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name": "bench post", "num_particles": 32768, "box_size": 50, "time_max": 0.5}'
done = function(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("non-2xx responses: %d\n", non2xx))
end
LUA

run() {  # label, wrk arguments...
  local label=$1; shift
  local out
  out=$(wrk -t2 -c64 -d"$duration" --latency "$@")
  echo "$out" >"$work/$(tr -c 'A-Za-z0-9' '_' <<<"$label").txt"
  local rps
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local p99
  p99=$(awk '/ 99%/ {print $2}' <<<"$out")
  printf '%-44s %10s req/s   p99 %s\n' "$label" "$rps" "$p99"
  if grep -q "Non-2xx" <<<"$out"; then grep "Non-2xx" <<<"$out"; fi
}

echo "== wrk -t2 -c64 -d$duration on $base ($(nproc) cores shared with wrk), store $total jobs"
run "GET /api/v1/jobs/{id} (auth)" -s "$work/auth.lua" "$base/api/v1/jobs/$id"
run "GET /api/v1/jobs?limit=100 (of $total)" -s "$work/auth.lua" "$base/api/v1/jobs?limit=100"
run "POST /api/v1/jobs (durable)" -s "$work/post.lua" "$base/api/v1/jobs"
after=$(curl -sf "$base/api/v1/jobs?limit=1" -H "Authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
echo "== jobs stored: $after (the POST run added $((after - total)))"
