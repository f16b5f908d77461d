#!/usr/bin/env bash
# Run a command with the test S3 server up and its settings exported (MLREG_TEST_S3_ENDPOINT,
# MLREG_TEST_S3_BUCKET, MLREG_TEST_S3_DIR, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), then stop the
# server again, unless it was already running before (then it is left as it was) or S3_KEEP=1.
#   bash test/s3/with-s3.sh npm test
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
log=$(mktemp); trap 'rm -f "$log"' EXIT
env_lines=$(bash "$HERE/start-s3.sh" --env 2> >(tee "$log" >&2)) || exit 1
eval "$env_lines"
if ! grep -q 'already running' "$log" && [ "${S3_KEEP:-0}" != 1 ]; then
  trap 'rm -f "$log"; bash "$HERE/stop-s3.sh" >&2' EXIT
fi
echo "[with-s3] S3 at $MLREG_TEST_S3_ENDPOINT (bucket $MLREG_TEST_S3_BUCKET)" >&2
"$@"
