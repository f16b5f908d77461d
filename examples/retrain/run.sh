#!/usr/bin/env bash
# The retraining loop end to end, in a temp registry: five simulated nights.
# Night 3 trains with a bad hyperparameter (heavy regularisation), so the gate keeps the champion.
# Usage: examples/retrain/run.sh   (from a built checkout: npm install has run; needs scikit-learn)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export PYTHON=${PYTHON:-/usr/bin/python3}
if ! "$PYTHON" -c 'import sklearn, joblib, pandas' 2>/dev/null; then
  echo "run.sh needs scikit-learn, joblib and pandas for $PYTHON (Debian: apt-get install python3-sklearn python3-pandas)" >&2
  exit 2
fi
export MLREG=${MLREG:-node $ROOT/bin/mlreg.js}
read -ra MLREG_CMD <<<"$MLREG"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mlreg-retrain-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export WORK SERVING=$WORK/serving MLREG_REGISTRY=$WORK/registry MLREG_ACTOR=${MLREG_ACTOR:-nightly-ci}

"${MLREG_CMD[@]}" init "$MLREG_REGISTRY"
# train.py records cross-validated scores at add; tell the registry which way they improve.
"${MLREG_CMD[@]}" config set metric.cv_auc.direction higher
"${MLREG_CMD[@]}" config set metric.cv_log_loss.direction lower
for day in 1 2 3 4 5; do
  if [ "$day" = 3 ]; then TRAIN_ARGS="--C 0.001"; else TRAIN_ARGS=""; fi
  rc=0
  TRAIN_ARGS=$TRAIN_ARGS "$HERE/nightly.sh" "$day" || rc=$?
  # 10: the data check stopped the night (expected when a batch has outliers); anything else is a failure.
  if [ "$rc" != 0 ] && [ "$rc" != 10 ]; then exit "$rc"; fi
done

printf '\n== what happened\n'
"${MLREG_CMD[@]}" list cancer
"${MLREG_CMD[@]}" history cancer
printf '\n== production against the latest model, as a pull-request comment\n'
"${MLREG_CMD[@]}" compare cancer@production cancer@latest --format markdown
printf '\n== serving folder\n'
ls -l "$SERVING/current"
test -f "$SERVING/current/model.joblib"
echo "retraining loop: OK"
