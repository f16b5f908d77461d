#!/usr/bin/env bash
# A real S3 server for mlreg's tests on 127.0.0.1: single-node Ceph from Debian's packages (ceph-mon,
# one ceph-osd on memstore, radosgw), no systemd, state under $S3_DIR. Installs the packages with
# apt-get when missing (as root, or through sudo). Idempotent: a healthy server is left alone; a server
# whose gateway alone was stopped (stop-s3.sh --gateway) gets its gateway back with its data; anything
# else is wiped and bootstrapped (~16 s; ~35 s more the first time for apt). Bounded by $S3_TIMEOUT.
#
#   bash test/s3/start-s3.sh          prints the endpoint (http://127.0.0.1:PORT) on stdout
#   bash test/s3/start-s3.sh --env    prints export lines for the tests instead:
#                                     eval "$(bash test/s3/start-s3.sh --env)"
# With S3_GATEWAY=NAME (and its own S3_PORT) on a running server: one more radosgw on the same data,
# for fault tests that stop or pause a gateway without disturbing the tests using the main one
# (stop it with stop-s3.sh --gateway NAME).
# Settings: S3_DIR (default /tmp/mlreg-test-s3), S3_PORT (7480), S3_MON_PORT (3300), S3_BUCKET
# (mlreg-test), S3_ACCESS_KEY / S3_SECRET_KEY (test-only keys), S3_OBJECTSTORE (memstore: everything in
# RAM, deleted objects freed by radosgw's gc ~2 min later or by `radosgw-admin gc process --include-all`;
# bluestore on a file failed with EPERM in the sandbox this was written in), S3_STORE_BYTES (4 GiB), S3_TIMEOUT (180 s).
set -euo pipefail
S3_DIR=${S3_DIR:-/tmp/mlreg-test-s3}
PORT=${S3_PORT:-7480}; MONPORT=${S3_MON_PORT:-3300}; BUCKET=${S3_BUCKET:-mlreg-test}
AK=${S3_ACCESS_KEY:-mlregtestkey}; SK=${S3_SECRET_KEY:-mlregtestsecret0123456789abcdef}
STORE=${S3_OBJECTSTORE:-memstore}; BYTES=${S3_STORE_BYTES:-4294967296}; DEADLINE=${S3_TIMEOUT:-180}
EP="http://127.0.0.1:$PORT"; CONF="$S3_DIR/ceph.conf"; T0=$(date +%s); HERE=$(dirname "$(readlink -f "$0")")
MODE=${1:-}; GW=client.rgw.${S3_GATEWAY:-s3}

log() { echo "[start-s3 +$(( $(date +%s) - T0 ))s] $*" >&2; }
die() { echo "[start-s3] FAILED: $*" >&2; tail -n 5 "$S3_DIR"/log/*.log >&2 2>/dev/null || true; exit 1; }
wait_for() { local what=$1; shift
  until "$@" >/dev/null 2>&1; do (( $(date +%s) - T0 < DEADLINE )) || die "timeout ($DEADLINE s): $what"; sleep 0.5; done; }
# curl's --aws-sigv4 (7.88) omits x-amz-content-sha256, which radosgw requires.
s3curl() { curl -sS --max-time 10 --aws-sigv4 aws:amz:us-east-1:s3 --user "$AK:$SK" \
  -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -o /dev/null -w '%{http_code}' "$@"; }
healthy() { [ "$(s3curl -I "$EP/$BUCKET" 2>/dev/null)" = 200 ]; }
CEPH() { timeout 30 ceph -c "$CONF" --connect-timeout 20 "$@"; }
ours() { grep -qa -- "$CONF" "/proc/$1/cmdline" 2>/dev/null; }   # a pid file may point at a reused pid
running() { local pid; pid=$(cat "$S3_DIR/run/$1.pid" 2>/dev/null) && [ -n "$pid" ] && ours "$pid" \
  && ! grep -qs '^State:[[:space:]]*Z' "/proc/$pid/status"; }
done_() {
  if [ "$MODE" = --env ]; then
    printf 'export MLREG_TEST_S3_ENDPOINT=%q MLREG_TEST_S3_BUCKET=%q MLREG_TEST_S3_DIR=%q\n' "$EP" "$BUCKET" "$S3_DIR"
    printf 'export AWS_ACCESS_KEY_ID=%q AWS_SECRET_ACCESS_KEY=%q\n' "$AK" "$SK"
  else echo "$EP"; fi
  exit 0
}

# Install only what is missing (never upgrades anything).
need=()
for p in ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw ceph:ceph-common \
         uuidgen:uuid-runtime curl:curl; do
  command -v "${p%%:*}" >/dev/null || need+=("${p#*:}"); done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null && sudo="sudo -n"; } \
    || die "Debian packages missing (${need[*]}): install them as root (apt-get install ${need[*]})"
  log "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 $sudo apt-get -o DPkg::Lock::Timeout=120 update -qq || die "apt-get update"
  timeout 600 $sudo apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends "${need[@]}" \
    >"${TMPDIR:-/tmp}/mlreg-start-s3-apt.log" 2>&1 \
    || { tail "${TMPDIR:-/tmp}/mlreg-start-s3-apt.log" >&2; die "apt-get install ${need[*]}"; }
  T0=$(date +%s)
fi

if [ -f "$CONF" ] && healthy; then log "already running: $EP"; done_; fi

start_gateway() {
  log "radosgw ($GW)"
  # Frontend and data given on the command line, so any gateway name works on the same conf.
  mkdir -p "$S3_DIR/rgw-$GW"
  timeout 60 radosgw -c "$CONF" -n "$GW" --rgw_frontends="beast endpoint=127.0.0.1:$PORT tcp_nodelay=1" \
    --rgw_data="$S3_DIR/rgw-$GW" 2>>"$S3_DIR/log/bootstrap.log" || die "radosgw start"
  rgw_up() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$EP/")" = 200 ]; }
  wait_for "radosgw on $EP" rgw_up
}

# Only a gateway was stopped (a fault test), or another one is wanted: start it on the same data.
if [ -f "$CONF" ] && running mon.a && running osd.0 && ! running "$GW"; then
  start_gateway
  wait_for "bucket answers" healthy
  log "gateway $GW up: $EP"
  done_
fi

"$HERE/stop-s3.sh" >/dev/null 2>&1 || true   # leftovers of an earlier run: stop by pid file, wipe
for p in "$PORT" "$MONPORT"; do
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && die "port $p on 127.0.0.1 is taken (set S3_PORT / S3_MON_PORT)"
done
[ "$GW" = client.rgw.s3 ] || die "no server running under $S3_DIR to add gateway $GW to"
rm -rf "$S3_DIR"; mkdir -p "$S3_DIR"/{run,log,mon-a,osd-0}
FSID=$(uuidgen)
cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MONPORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
# radosgw asks for 'secure' mode by default, which needs cephx
ms mon client mode = crc
keyring = $S3_DIR/keyring
run dir = $S3_DIR/run
admin socket = $S3_DIR/run/\$name.asok
pid file = $S3_DIR/run/\$name.pid
log file = $S3_DIR/log/\$name.log
mon cluster log file = $S3_DIR/log/cluster.log
mon data = $S3_DIR/mon-\$id
osd data = $S3_DIR/osd-\$id
osd objectstore = $STORE
memstore device bytes = $BYTES
bluestore block size = $BYTES
osd memory target = 1073741824
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
[client]
# start_gateway sets 'rgw frontends' with tcp_nodelay=1: without it small responses stall ~40 ms
rgw thread pool size = 64
rgw gc obj min wait = 60
rgw gc processor period = 60
CONF
B="$S3_DIR/log/bootstrap.log"
log "mon"
ceph-authtool --create-keyring "$S3_DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MONPORT]" "$S3_DIR/monmap" >/dev/null
timeout 30 ceph-mon -c "$CONF" --mkfs -i a --monmap "$S3_DIR/monmap" 2>>"$B" || die "mon mkfs"
timeout 30 ceph-mon -c "$CONF" -i a 2>>"$B" || die "mon start"
wait_for "mon" CEPH mon stat
log "osd ($STORE)"
U=$(uuidgen); [ "$(CEPH osd new "$U")" = 0 ] || die "ceph osd new"
timeout 60 ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$U" 2>>"$B" || die "osd mkfs"
timeout 60 ceph-osd -c "$CONF" -i 0 2>>"$B" || die "osd start"
osd_up() { CEPH osd dump --format json | grep -q '"up":1'; }
wait_for "osd.0 up" osd_up
start_gateway
timeout 60 radosgw-admin -c "$CONF" user create --uid=mlreg-test --display-name=mlreg-test \
  --access-key="$AK" --secret-key="$SK" >/dev/null 2>>"$B" || die "radosgw-admin user create"
mkbucket() { [[ "$(s3curl -X PUT "$EP/$BUCKET")" =~ ^(200|409)$ ]]; }
wait_for "bucket $BUCKET" mkbucket
wait_for "bucket answers" healthy
log "ready: $EP bucket=$BUCKET (path-style, any region)"
done_
