#!/usr/bin/env bash
# A zero-downtime upgrade, proven under load: two replicas of examples/serve/server.py, each on its own
# serving folder kept on cancer@production by its own `mlreg follow ... --exec 'kill -HUP ...'`, under a
# steady /predict load while promote and rollback alternate; then switch-under-load.mjs checks that no
# request failed, every answer named its version, and each replica switched within the targets.
#
# Usage: examples/serve/run.sh            (from a built checkout; needs scikit-learn for /usr/bin/python3)
#   DURATION=60 ALTERNATIONS=20 INTERVAL=1 CONCURRENCY=4 RATE=200 (per replica) JSON_OUT=FILE
#   KEEP=1 keeps the work folder (registry, serving folders, logs) and prints where it is.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
if ! "$PYTHON" -c 'import sklearn, joblib' 2>/dev/null; then
  echo "run.sh needs scikit-learn and joblib for $PYTHON (Debian: apt-get install python3-sklearn)" >&2
  exit 2
fi
DURATION=${DURATION:-60} ALTERNATIONS=${ALTERNATIONS:-20} INTERVAL=${INTERVAL:-1}
CONCURRENCY=${CONCURRENCY:-4} RATE=${RATE:-200} REPLICAS=2
export MLREG=${MLREG:-node $ROOT/bin/mlreg.js}
read -ra MLREG_CMD <<<"$MLREG"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mlreg-serve-XXXXXX")
export MLREG_REGISTRY=$WORK/registry MLREG_ACTOR=${MLREG_ACTOR:-switch-under-load}

PIDS=()
STATUS=1
cleanup() {
  # Stop what this script started, followers first (so no hook signals a stopped server), by pid.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$STATUS" != 0 ]; then
    for log in "$WORK"/*.log; do [ -f "$log" ] && { echo "== $log (last 30 lines)"; tail -n 30 "$log"; } >&2; done
  fi
  if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

"${MLREG_CMD[@]}" init "$MLREG_REGISTRY" >/dev/null
# Two real scikit-learn models (test/fixtures/models/make_models.py: a logistic regression and a random
# forest), each stored as model.joblib so a server always loads current/model.joblib.
FIXTURES=$ROOT/test/fixtures/models
"${MLREG_CMD[@]}" add model cancer "$FIXTURES/cancer-v1.joblib" --version 1.0.0 --as model.joblib >/dev/null
"${MLREG_CMD[@]}" add model cancer "$FIXTURES/cancer-v2.joblib" --version 2.0.0 --as model.joblib >/dev/null
"${MLREG_CMD[@]}" promote cancer@1.0.0 --to production --reason baseline >/dev/null

# The probe row every request sends, and the exact probabilities each version must answer for it (so an
# answer that names one version but was computed by the other is caught).
"$PYTHON" - "$ROOT/test/fixtures/datasets/holdout.csv" "$FIXTURES" "$WORK" <<'EOF'
import csv, json, os, sys
import joblib
holdout, fixtures, work = sys.argv[1:]
with open(holdout) as f:
    row = [float(x) for x in list(csv.reader(f))[1][:30]]
expected = {}
for version, file in (("1.0.0", "cancer-v1.joblib"), ("2.0.0", "cancer-v2.joblib")):
    expected[version] = joblib.load(os.path.join(fixtures, file)).predict_proba([row]).tolist()
if expected["1.0.0"] == expected["2.0.0"]:
    sys.exit("the probe row gets the same answer from both models; pick another row")
json.dump({"features": row}, open(os.path.join(work, "body.json"), "w"))
json.dump(expected, open(os.path.join(work, "expected.json"), "w"))
EOF

URLS=()
for r in $(seq 1 "$REPLICAS"); do
  DIR=$WORK/replica$r PIDFILE=$WORK/replica$r.pid
  # Reconcile the folder once, start the server on it, then keep following.
  "${MLREG_CMD[@]}" follow cancer@production "$DIR" --once >>"$WORK/follow$r.log" 2>&1
  "$PYTHON" "$HERE/server.py" "$DIR" --port 0 --pid-file "$PIDFILE" >"$WORK/server$r.out" 2>>"$WORK/server$r.log" &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    [ -s "$WORK/server$r.out" ] && break
    kill -0 "${PIDS[-1]}" 2>/dev/null || { echo "server $r did not start" >&2; exit 1; }
    sleep 0.1
  done
  URL=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$WORK/server$r.out")
  URLS+=(--replica "$URL")
  "${MLREG_CMD[@]}" follow cancer@production "$DIR" --interval "${INTERVAL}s" \
    --exec "kill -HUP \$(cat '$PIDFILE')" >>"$WORK/follow$r.log" 2>&1 &
  PIDS+=($!)
  echo "replica $r: $URL serving $DIR (follower pid $!)" >&2
done

RC=0
node "$HERE/switch-under-load.mjs" --name cancer --promote 2.0.0 --baseline 1.0.0 "${URLS[@]}" \
  --body "$(cat "$WORK/body.json")" --expected "$WORK/expected.json" --interval "$INTERVAL" \
  --duration "$DURATION" --alternations "$ALTERNATIONS" --concurrency "$CONCURRENCY" --rate "$RATE" \
  ${JSON_OUT:+--json-out "$JSON_OUT"} || RC=$?
STATUS=$RC
exit "$RC"
