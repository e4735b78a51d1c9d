#!/usr/bin/env bash
# Footprint of the shop build's daemon (issue 9 item 9; BENCHMARKS.md "Daemon").
#
#   bash benches/daemon.sh [CYCLES] [INTERVAL] [TLS_EVERY]     # defaults: 200 1s 1
#
# Builds the shop binary (`cargo build --release --no-default-features
# --features shop`, into target/shop) and the default build (lab, serve),
# starts `stca2-probe lab` (loopback only: 127.0.38.45 and .173) and a real
# `stca2-probe serve` on 127.0.0.1 with a SQLite database, issues a probe
# token, and runs the shop daemon against the lab for CYCLES cycles every
# INTERVAL, uploading to serve. It samples the daemon from /proc (VmRSS,
# VmHWM, utime+stime) and /metrics (stca2_probe_wire_bytes_total,
# stca2_probe_checks_total), and prints one summary: steady RSS (median of
# the samples after the first 20 cycles), peak RSS, CPU seconds per cycle,
# bytes on the wire per cycle, spool bytes per report, and the monthly volume
# at interval 5m. MALLOC_ARENA_MAX and the like pass through the environment.
#
# Nothing leaves loopback: the lab's target file holds only 127.0.38.x, and
# the daemon runs under the repository's STCA2_PROBE_ALLOW ceiling.
set -euo pipefail

CYCLES=${1:-200}
INTERVAL=${2:-1s}
TLS_EVERY=${3:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export STCA2_PROBE_ALLOW=${STCA2_PROBE_ALLOW:-127.0.0.0/8}

cargo build --release --no-default-features --features shop --target-dir target/shop >&2
cargo build >&2
SHOP=target/shop/release/stca2-probe
FULL=target/debug/stca2-probe

WORK=$(mktemp -d /tmp/stca2-daemon-bench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The lab (healthy: every gateway answers with an STCA2 chain).
"$FULL" lab --ca-dir "$WORK/lab" >"$WORK/lab.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -f "$WORK/lab/lab.toml" ] && break; sleep 0.1; done
[ -f "$WORK/lab/lab.toml" ] || { cat "$WORK/lab.log" >&2; exit 1; }

# A real back office on loopback.
PORT=$((20000 + RANDOM % 20000))
DB="sqlite://$WORK/bo.db"
TOKEN=$("$FULL" token issue --db "$DB" --probe bench-probe 2>/dev/null)
echo "$TOKEN" >"$WORK/token"
"$FULL" serve --db "$DB" --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done

MPORT=$((PORT + 1))
cat >"$WORK/daemon.toml" <<EOF
probe_id = "bench-probe"
targets = "$WORK/lab/lab.toml"
interval = "$INTERVAL"
jitter = "0s"
timeout = "2s"
tls_every = $TLS_EVERY
spool_dir = "$WORK/spool"
metrics_listen = "127.0.0.1:$MPORT"
[upload]
url = "http://127.0.0.1:$PORT/"
token_file = "$WORK/token"
EOF

"$SHOP" daemon --config "$WORK/daemon.toml" >"$WORK/daemon.log" 2>&1 &
DAEMON=$!
PIDS+=($DAEMON)
TICK=$(getconf CLK_TCK)

metric() { # NAME [LABEL-MATCH]
    curl -s "http://127.0.0.1:$MPORT/metrics" | grep "^$1" | grep -- "${2:-}" | awk '{s+=$2} END {print s+0}'
}

SAMPLES="$WORK/rss"
checks=0
while [ "$checks" -lt "$CYCLES" ]; do
    sleep 1
    kill -0 "$DAEMON" 2>/dev/null || { cat "$WORK/daemon.log" >&2; exit 1; }
    checks=$(metric stca2_probe_checks_total)
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$DAEMON/status")
    [ "$checks" -gt 20 ] && echo "$rss" >>"$SAMPLES"
done
# Let the last upload go through.
sleep 2

read -r utime stime < <(awk '{print $14, $15}' "/proc/$DAEMON/stat")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$DAEMON/status")
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$DAEMON/status")
threads=$(awk '/^Threads/ {print $2}' "/proc/$DAEMON/status")
checks=$(metric stca2_probe_checks_total)
sent=$(metric stca2_probe_wire_bytes_total 'direction="sent"')
received=$(metric stca2_probe_wire_bytes_total 'direction="received"')
uploads=$(metric stca2_probe_uploads_total 'outcome="ok"')
steady=$(sort -n "$SAMPLES" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
stored=$(sqlite3 "$WORK/bo.db" 'SELECT COUNT(*) FROM reports' 2>/dev/null || echo "?")
report_bytes=$(sqlite3 "$WORK/bo.db" 'SELECT AVG(LENGTH(body)) FROM reports' 2>/dev/null || echo "?")
# Spool bytes per report: the size of a spool entry, from a report the
# daemon wrote (the spool is drained by the uploads, so a fresh --once).
mkdir -p "$WORK/once"
sed -e "s#spool_dir = .*#spool_dir = \"$WORK/once\"#" -e '/^\[upload\]/,$d' -e '/metrics_listen/d' \
    "$WORK/daemon.toml" >"$WORK/once.toml"
"$SHOP" daemon --config "$WORK/once.toml" --once >/dev/null 2>&1 || true
spool_entry=$(find "$WORK/once" -type f -name '*.json' -printf '%s\n' | head -1)

cpu=$(echo "($utime + $stime) / $TICK" | bc -l)
per_cycle=$(echo "($sent + $received) / $checks" | bc)
cat <<EOF
date:                 $(date -u +%Y-%m-%dT%H:%MZ)
kernel:               $(uname -r)
build:                $($SHOP --version)
cycles:               $checks (interval $INTERVAL, tls_every $TLS_EVERY, lab healthy, 4 targets x 3 attempts)
uploads ok:           $uploads requests; reports stored by serve: $stored
threads:              $threads
steady RSS:           $((steady / 1024)) MiB ($steady KiB, median after cycle 20)
peak RSS (VmHWM):     $((hwm / 1024)) MiB ($hwm KiB); now $rss KiB
CPU:                  $(printf '%.2f' "$cpu") s total, $(printf '%.4f' "$(echo "$cpu / $checks" | bc -l)") s per cycle
wire per cycle:       $per_cycle bytes ($(echo "$sent / $checks" | bc) sent, $(echo "$received / $checks" | bc) received)
spool per report:     ${spool_entry:-?} bytes (report JSON in the back office: ${report_bytes%.*} bytes)
monthly at 5m:        $(echo "$per_cycle * 12 * 24 * 30 / 1000000" | bc -l | xargs printf '%.1f') MB (checks only; 8640 cycles)
EOF
