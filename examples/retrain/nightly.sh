#!/usr/bin/env bash
# One night of the retraining loop: what a scheduled CI job runs.
#
#   snapshot the new data → check it against the training snapshot → train → add model --trained-on
#   → eval run (new and production models, latest holdout, all rows + `recent`) → promote --if-better
#   → checkout production into the serving folder
#
# Usage: nightly.sh DAY
#   DAY labels the night; without NEW_DATA it also picks the simulated data (1-5, make_data.py).
# Environment:
#   NEW_DATA        a folder with today's batch.csv, train.csv and holdout.csv (your data export);
#                   default: simulate them with make_data.py
#   MLREG_REGISTRY  the registry (required)
#   MLREG           how to run mlreg (default: mlreg)
#   PYTHON          a Python with scikit-learn (default: /usr/bin/python3)
#   WORK            scratch folder for data and the trained model (default: a temp folder)
#   SERVING         the serving folder; SERVING/current is the production model (default: $WORK/serving)
#   TRAIN_ARGS      extra arguments for train.py (e.g. "--C 0.001")
# Exit: 0 done (promoted or champion kept); 10 the data check failed, so nothing was trained tonight;
#       anything else: a step failed (nothing half-done is promoted).
set -euo pipefail

DAY=${1:?usage: nightly.sh DAY}
HERE=$(cd "$(dirname "$0")" && pwd)
: "${MLREG_REGISTRY:?set MLREG_REGISTRY to the registry folder}"
read -ra MLREG_CMD <<<"${MLREG:-mlreg}"
PYTHON=${PYTHON:-/usr/bin/python3}
WORK=${WORK:-$(mktemp -d)}
SERVING=${SERVING:-$WORK/serving}
MODEL=cancer
GATE=(--if-better log_loss --on cancer-holdout@latest --all-slices --max-slice-regression 0.05)

mlreg() { "${MLREG_CMD[@]}" "$@"; }
step() { printf '\n== day %s: %s\n' "$DAY" "$*"; }
# The value of a field of mlreg's --json answer, e.g. json_field data.version.version
json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v=JSON.parse(s);for(const k of process.argv[1].split("."))v=v?.[k];console.log(v??"")})' "$1"; }
has_version() { mlreg --json show "$1" >/dev/null 2>&1; }

step "snapshot the new data"
if [ -n "${NEW_DATA:-}" ]; then DATA=$NEW_DATA; else DATA=$("$PYTHON" "$HERE/make_data.py" "$WORK/incoming" "$DAY"); fi
mlreg add dataset cancer-batch "$DATA/batch.csv" --description "rows received on day $DAY"

step "check the new data against the training snapshot"
if has_version cancer-train@latest; then
  # Exit 1 = drift or quality over threshold: stop here, do not train on data that looks wrong.
  set +e
  mlreg check cancer-batch@latest --against cancer-train@latest
  rc=$?
  set -e
  if [ "$rc" = 1 ]; then
    echo "data check failed: not retraining tonight; production keeps $(mlreg --json show "$MODEL@production" | json_field data.version.version)"
    exit 10
  elif [ "$rc" != 0 ]; then
    exit "$rc"
  fi
else
  echo "no training snapshot yet (first night): nothing to check against"
fi

step "snapshot the training set and the latest holdout"
mlreg add dataset cancer-train "$DATA/train.csv" --description "training rows up to day $DAY"
mlreg add dataset cancer-holdout "$DATA/holdout.csv" --description "held-out rows up to day $DAY"

step "train"
rm -rf "$WORK/model" && mkdir -p "$WORK/model"
# shellcheck disable=SC2086
"$PYTHON" "$HERE/train.py" "$DATA/train.csv" "$WORK/model/out" ${TRAIN_ARGS:-}
NEW=$(mlreg --json add model "$MODEL" "$WORK/model/out" --trained-on cancer-train@latest \
  --metrics-file "$WORK/model/metrics.json" --param "train_args=${TRAIN_ARGS:-default}" \
  --description "nightly retrain, day $DAY" | json_field data.version.version)
echo "registered $MODEL@$NEW"

step "evaluate the new model and production on the latest holdout"
MODELS=("$MODEL@$NEW")
if has_version "$MODEL@production"; then MODELS+=("$MODEL@production"); fi
mlreg eval run "${MODELS[@]}" --on cancer-holdout@latest --timeout 600 -- "$PYTHON" "$HERE/evaluate.py"

step "promote if better"
set +e
mlreg promote "$MODEL@$NEW" --to production "${GATE[@]}" --reason "nightly retrain, day $DAY"
rc=$?
set -e
case $rc in
  0) ;;
  1) echo "kept the champion: $MODEL@$NEW is not better (see above)" ;;
  *) exit "$rc" ;;
esac

step "serve production"
mlreg checkout "$MODEL@production" "$SERVING"
