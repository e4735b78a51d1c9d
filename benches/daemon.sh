#!/usr/bin/env bash
# Footprint of the shop build's daemon (issue 9 item 9; BENCHMARKS.md "Daemon footprint").
#
#   bash benches/daemon.sh [CYCLES] [INTERVAL] [TLS_EVERY]     # defaults: 200 1s 1
#
# Needs, built beforehand (the script does not build: a release build takes
# a quarter of an hour on a shared machine, and the two builds write the
# same target/release/stca2-probe):
#   SHOP  the shop build (`cargo build --release --no-default-features
#         --features shop`), default target/release/stca2-probe
#   FULL  a build with `lab` and `serve` (`cargo build`), default
#         target/debug/stca2-probe; it only serves the lab and the back
#         office, so a debug build does not change what is measured
#
# It starts `stca2-probe lab` (loopback only: 127.0.38.45 and .173) and a real
# `stca2-probe serve` on 127.0.0.1 with a SQLite database, issues a probe
# token, and runs the shop daemon against the lab for CYCLES cycles every
# INTERVAL, uploading to serve. It samples the daemon from /proc (VmRSS,
# VmHWM, utime+stime) and /metrics (stca2_probe_wire_bytes_total,
# stca2_probe_checks_total), and prints one summary: steady RSS (median of
# the samples after the first 20 cycles), peak RSS, CPU seconds per cycle,
# bytes on the wire per cycle, spool bytes per report, and the monthly
# volume at interval 5m. MALLOC_ARENA_MAX and the like pass through the
# environment.
#
# As root, it also counts the packets with nftables (a table of its own,
# counters only, deleted at the end): the checks' traffic to the lab's ports
# and the uploads' traffic to serve, IP and TCP headers included, FIN
# exchange included. The first cross-checks the daemon's own TCP_INFO
# figures; the second is what the uploads cost, which TCP_INFO does not see
# (reqwest does not expose its socket). Loopback has a 64 KiB MTU: a real
# link cuts a large upload into more segments (about 52 bytes of headers per
# 1448 bytes of payload, some 3.5 % more).
#
# Nothing leaves loopback: the lab's target file holds only 127.0.38.x, the
# daemon's allow list is 127.0.0.0/8, and the daemon runs under the
# repository's STCA2_PROBE_ALLOW ceiling.
set -euo pipefail

CYCLES=${1:-200}
INTERVAL=${2:-1s}
TLS_EVERY=${3:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export STCA2_PROBE_ALLOW=127.0.0.0/8
SHOP=${SHOP:-target/release/stca2-probe}
FULL=${FULL:-target/debug/stca2-probe}
for b in "$SHOP" "$FULL"; do
    [ -x "$b" ] || { echo "missing $b: build it first (see the top of $0)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/stca2-daemon-bench.XXXXXX)
PIDS=()
NFT=""
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "$NFT" ] && nft delete table inet "$NFT" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The lab (healthy: every gateway answers with an STCA2 chain).
"$FULL" lab --ca-dir "$WORK/lab" >"$WORK/lab.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do [ -f "$WORK/lab/lab.toml" ] && break; sleep 0.1; done
[ -f "$WORK/lab/lab.toml" ] || { cat "$WORK/lab.log" >&2; exit 1; }
sleep 1

# A real back office on loopback.
PORT=$((20000 + RANDOM % 20000))
DB="sqlite://$WORK/bo.db"
TOKEN=$("$FULL" token issue --database "$DB" --probe bench-probe 2>/dev/null)
echo "$TOKEN" >"$WORK/token"
"$FULL" serve --database "$DB" --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done

# Packet counters (root only): checks to the lab's ports, uploads to serve.
if [ "$(id -u)" = 0 ] && command -v nft >/dev/null; then
    NFT="stca2_bench_$$"
    nft -f - <<EOF
table inet $NFT {
    counter checks_out {}
    counter checks_in {}
    counter upload_out {}
    counter upload_in {}
    chain out {
        type filter hook output priority 0; policy accept;
        ip daddr { 127.0.38.45, 127.0.38.173 } tcp dport { 1146, 7212 } counter name checks_out
        ip saddr { 127.0.38.45, 127.0.38.173 } tcp sport { 1146, 7212 } counter name checks_in
        ip daddr 127.0.0.1 tcp dport $PORT counter name upload_out
        ip saddr 127.0.0.1 tcp sport $PORT counter name upload_in
    }
}
EOF
fi
nft_bytes() { # COUNTER
    [ -n "$NFT" ] || { echo 0; return; }
    nft list counter inet "$NFT" "$1" 2>/dev/null | awk '/bytes/ {for (i = 1; i < NF; i++) if ($i == "bytes") print $(i + 1)}'
}

MPORT=$((PORT + 1))
cat >"$WORK/daemon.toml" <<EOF
probe_id = "bench-probe"
targets = "$WORK/lab/lab.toml"
allow = ["127.0.0.0/8"]
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
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

metric() { # NAME [LABEL-MATCH]
    curl -s "http://127.0.0.1:$MPORT/metrics" | grep "^$1" | grep -- "${2:-}" | awk '{s+=$2} END {printf "%d\n", s}'
}

SAMPLES="$WORK/rss"
checks=0
t0=$(date +%s)
while [ "$checks" -lt "$CYCLES" ]; do
    sleep 1
    kill -0 "$DAEMON" 2>/dev/null || { cat "$WORK/daemon.log" >&2; exit 1; }
    checks=$(metric stca2_probe_checks_total || echo 0)
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$DAEMON/status")
    [ "${checks:-0}" -gt 20 ] && echo "$rss" >>"$SAMPLES"
done
# Let the last upload go through.
sleep 3
t1=$(date +%s)

read -r utime stime < <(awk '{print $14, $15}' "/proc/$DAEMON/stat")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$DAEMON/status")
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$DAEMON/status")
threads=$(awk '/^Threads/ {print $2}' "/proc/$DAEMON/status")
checks=$(metric stca2_probe_checks_total)
skipped=$(metric stca2_probe_cycles_skipped_total)
sent=$(metric stca2_probe_wire_bytes_total 'direction="sent"')
received=$(metric stca2_probe_wire_bytes_total 'direction="received"')
uploads=$(metric stca2_probe_uploads_total 'outcome="ok"')
uploaded=$(sqlite3 "$WORK/bo.db" 'SELECT SUM(reports) FROM report_hours' 2>/dev/null || echo "?")
kept=$(sqlite3 "$WORK/bo.db" 'SELECT COUNT(*) FROM reports' 2>/dev/null || echo "?")
latest_bytes=$(sqlite3 "$WORK/bo.db" 'SELECT LENGTH(body) FROM latest' 2>/dev/null || echo "?")
checks_nft=$(( $(nft_bytes checks_out) + $(nft_bytes checks_in) ))
upload_nft=$(( $(nft_bytes upload_out) + $(nft_bytes upload_in) ))
steady=$(sort -n "$SAMPLES" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
kill "$DAEMON"
wait "$DAEMON" 2>/dev/null || true

# Spool bytes per report: the size of a spool entry, from a report the
# daemon wrote (the spool is drained by the uploads, so a fresh --once
# without [upload]), full and, with tls_every > 1, what a TCP-only one
# would weigh is the daemon's; the entry here is a full one.
mkdir -p "$WORK/once"
sed -e "s#spool_dir = .*#spool_dir = \"$WORK/once\"#" -e '/^\[upload\]/,$d' -e '/metrics_listen/d' \
    "$WORK/daemon.toml" >"$WORK/once.toml"
"$SHOP" daemon --config "$WORK/once.toml" --once >/dev/null 2>&1 || true
spool_entry=$(find "$WORK/once" -maxdepth 1 -type f -name '*.json' -printf '%s\n' | head -1)

cpu=$(echo "($utime + $stime) / $TICK" | bc -l)
per_cycle=$(( (sent + received) / checks ))
upload_per_report=$( [ "$uploaded" != "?" ] && [ "$uploaded" -gt 0 ] && echo $(( upload_nft / uploaded )) || echo "?")
cat <<EOF
date:                 $(date -u +%Y-%m-%dT%H:%MZ)
kernel:               $(uname -r); $(nproc) cores
load average:         $LOAD_START at the start, $LOAD_END at the end
build:                $($SHOP --version) ($SHOP)
cycles:               $checks in $((t1 - t0)) s (interval $INTERVAL, tls_every $TLS_EVERY, lab healthy, 4 targets x 3 attempts); skipped $skipped
uploads ok:           $uploads requests; reports received by serve: $uploaded; bodies kept (state changes): $kept
threads:              $threads
steady RSS:           $((steady / 1024)) MiB ($steady KiB, median after cycle 20)
peak RSS (VmHWM):     $((hwm / 1024)) MiB ($hwm KiB); at the end $rss KiB
CPU:                  $(printf '%.2f' "$cpu") s total, $(printf '%.4f' "$(echo "$cpu / $checks" | bc -l)") s per cycle
wire per cycle:       $per_cycle bytes ($((sent / checks)) sent, $((received / checks)) received), TCP_INFO
  nft, checks:        $(( checks_nft / checks )) bytes per cycle (FIN exchange included; 0: not root)
  nft, uploads:       $upload_nft bytes in all, $upload_per_report per report (HTTP, headers included)
spool per report:     ${spool_entry:-?} bytes (a full report; latest body in the back office: $latest_bytes bytes)
monthly at 5m:        $(echo "$per_cycle * 12 * 24 * 30 / 1000000" | bc -l | xargs printf '%.1f') MB of checks (8640 cycles)$( [ "$upload_per_report" != "?" ] && echo "; uploads $(echo "$upload_per_report * 12 * 24 * 30 / 1000000" | bc -l | xargs printf '%.1f') MB")
EOF
