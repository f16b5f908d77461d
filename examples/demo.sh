#!/usr/bin/env bash
# The mlreg tour: two real scikit-learn models (test/fixtures/models) go into a fresh local registry,
# get promoted, and production is rolled back the way on-call would do it during an incident.
# Run from the repository root: `npm install && npm run demo`. Everything lands in ./mlreg-demo/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mlreg="node $root/bin/mlreg.js"
models="$root/test/fixtures/models"
demo="$root/mlreg-demo"

# Print a word so that a shell reads it back as the same word: plain when it is safe, else in single quotes.
shell_quote() {
  if [[ $1 =~ ^[A-Za-z0-9_./=:@+-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}

# Show the command exactly as it can be pasted into a shell, then run it.
step() {
  local line="mlreg" word
  for word in "$@"; do line+=" $(shell_quote "$word")"; done
  if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then printf '\n\033[1m$ %s\033[0m\n' "$line"; else printf '\n$ %s\n' "$line"; fi
  $mlreg "$@"
}

rm -rf "$demo"
mkdir -p "$demo"
cd "$demo"
export MLREG_ACTOR="${MLREG_ACTOR:-demo-user}"

step init
# The story: a random forest goes to production first; a retrained logistic regression scores better
# offline (higher auc and accuracy) and replaces it; in production it misses malignant cases, so on call rolls back.
step add model cancer "$models/cancer-v2.joblib" --metrics-file "$models/cancer-v2.metrics.json" --param n_estimators=15 --description "random forest"
step add model cancer "$models/cancer-v1.joblib" --metrics-file "$models/cancer-v1.metrics.json" --param C=0.05 --description "logistic regression, retrained"
step list cancer
step promote cancer@1.0.0 --to production --reason "first release" --checkout "$demo/serving"
step compare cancer@1.0.0 cancer@1.1.0
step promote cancer@1.1.0 --to production --reason "better auc and accuracy on the holdout" --checkout "$demo/serving"
echo; echo "serving/current -> $(readlink "$demo/serving/current")"
step rollback cancer --reason "INC-1: false negatives up after 1.1.0" --actor oncall --checkout "$demo/serving"
echo; echo "serving/current -> $(readlink "$demo/serving/current")"
step history cancer
step show cancer@production
echo
echo "Done. The registry is $demo/.mlreg; try: cd mlreg-demo && node ../bin/mlreg.js list"
