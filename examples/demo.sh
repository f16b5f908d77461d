#!/usr/bin/env bash
# The mlreg tour: two real scikit-learn models (test/fixtures/models) go into a fresh local registry,
# get promoted, and production is rolled back the way on-call would do it during an incident.
# Run from the repository root: `npm install && npm run demo`. Everything lands in ./mlreg-demo/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mlreg="node $root/bin/mlreg.js"
models="$root/test/fixtures/models"
demo="$root/mlreg-demo"

step() {
  if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then printf '\n\033[1m$ mlreg %s\033[0m\n' "$*"; else printf '\n$ mlreg %s\n' "$*"; fi
  $mlreg "$@"
}

rm -rf "$demo"
mkdir -p "$demo"
cd "$demo"
export MLREG_ACTOR="${MLREG_ACTOR:-demo-user}"

step init
step add model cancer "$models/cancer-v1.joblib" --metrics-file "$models/cancer-v1.metrics.json" --param C=0.05 --description "logistic regression"
step add model cancer "$models/cancer-v2.joblib" --metrics-file "$models/cancer-v2.metrics.json" --param n_estimators=15 --description "random forest"
step list cancer
step promote cancer@1.0.0 --to production --reason "first release" --checkout "$demo/serving"
step promote cancer@1.1.0 --to production --reason "new model" --checkout "$demo/serving"
echo; echo "serving/current -> $(readlink "$demo/serving/current")"
step rollback cancer --reason "INC-1: false negatives up after 1.1.0" --actor oncall --checkout "$demo/serving"
echo; echo "serving/current -> $(readlink "$demo/serving/current")"
step history cancer
step show cancer@production
echo
echo "Done. The registry is $demo/.mlreg; try: cd mlreg-demo && node ../bin/mlreg.js list"
