#!/usr/bin/env bash
# Stop what start-s3.sh started, by pid file (never by process name), and wipe $S3_DIR: the data is
# disposable, so SIGKILL. Idempotent.
#   bash test/s3/stop-s3.sh             stop everything and wipe the state
#   bash test/s3/stop-s3.sh --gateway [NAME]   stop only a radosgw (SIGKILL, like a crash; NAME as in
#                                       S3_GATEWAY, default s3) and keep the data: start-s3.sh (with the
#                                       same S3_GATEWAY and S3_PORT) brings it back on the same data
set -uo pipefail
S3_DIR=${S3_DIR:-/tmp/mlreg-test-s3}
ours() { grep -qa -- "$S3_DIR/ceph.conf" "/proc/$1/cmdline" 2>/dev/null; }   # guards against pid reuse
alive() { [ -d "/proc/$1" ] && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }   # a zombie is gone
daemons=(osd.0 mon.a)
for f in "$S3_DIR"/run/client.rgw.*.pid; do [ -e "$f" ] && f=${f##*/} && daemons=("${f%.pid}" "${daemons[@]}"); done
[ "${1:-}" = --gateway ] && daemons=("client.rgw.${2:-s3}")
n=0
for d in "${daemons[@]}"; do
  pid=$(cat "$S3_DIR/run/$d.pid" 2>/dev/null) || continue
  [ -n "$pid" ] && ours "$pid" || continue
  kill -CONT "$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null || continue   # CONT: a paused one too
  n=$((n + 1))
  for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
  rm -f "$S3_DIR/run/$d.pid"
done
[ "${1:-}" = --gateway ] || rm -rf "$S3_DIR"
echo "stopped $n daemon(s)"
