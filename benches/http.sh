#!/usr/bin/env bash
# What a key costs a request, end to end, in each example server (axum, actix-web, warp):
# `GET /public` (no key) against `GET /private` (a valid key, looked up in a redb store of
# 1,000,000 keys). Both routes answer with the same handler body and the same bytes, so the
# difference is the key: the extra request header, its extraction and verification.
#
# The server runs pinned to core 0 and wrk to core 1 (`taskset`), so that the server's
# requests/s is the inverse of its time per request: added server time per request =
# 1e6/keyed - 1e6/open µs. Each server runs RUNS pairs of an open and a keyed run, short and
# in ABBA order (open first, then keyed first, ...), so that drift in the machine's speed
# hits both alike; the summary takes the median of each route, and the median of each
# pair's own difference and ratio ("pair" columns: what drift between pairs cannot move).
# Every run also reports the server's CPU share, which must be ~100 % for the req/s figures
# to mean server time (else wrk, or something else, was the bottleneck), and the server's
# CPU time per request (its threads' run time from /proc/<pid>/task/*/schedstat over the
# run, divided by the requests): keyed - open is what a key costs the server even on a
# busy machine.
#
# Target: added time <= 1 µs per request and keyed/open >= 0.90. Exits non-zero only when
# something fails to run, not on a missed target.
#
#   bash benches/http.sh     # RUNS=11 DURATION=4s THREADS=1 CONNECTIONS=32 PORT=18080
#   LIMITS=1 bash benches/http.sh   # also: a rate-limited and a metered key against the plain
#   SERVERS="axum-server warp-server" bash benches/http.sh
#   SERVER_CPU=0 CLIENT_CPU=1 (the cores); PIN=0 runs unpinned.
#   BIN_DIR=/tmp/old bash benches/http.sh   # servers built elsewhere (a before/after pair)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-11}
DURATION=${DURATION:-4s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18080}
LIMITS=${LIMITS:-0}
PIN=${PIN:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SERVERS=${SERVERS:-axum-server actix-server warp-server}
BIN_DIR=${BIN_DIR:-}
STORE=${APIKEYS_BENCH_STORE:-$ROOT/target/bench-data/million.redb}
WORK=$(mktemp -d)
SERVER_PID=

cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! command -v wrk >/dev/null; then
    echo "installing wrk…" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if [ "$PIN" = 1 ] && ! command -v taskset >/dev/null; then
    echo "taskset not found (util-linux): running unpinned" >&2
    PIN=0
fi
# Command prefixes (arrays, not functions: the server's pid must be the server's own).
ON_SERVER_CORE=()
ON_CLIENT_CORE=()
if [ "$PIN" = 1 ]; then
    ON_SERVER_CORE=(taskset -c "$SERVER_CPU")
    ON_CLIENT_CORE=(taskset -c "$CLIENT_CPU")
fi

cd "$ROOT"
if [ -z "$BIN_DIR" ]; then
    cargo build --release -q -p apikeys-examples --bin axum-server --bin actix-server --bin warp-server
    BIN_DIR=$ROOT/target/release
fi
cargo build --release -q -p apikeys-benches --bin million-keys
KEYS_OUT=$(APIKEYS_BENCH_STORE="$STORE" ./target/release/million-keys)
KEY=$(echo "$KEYS_OUT" | sed -n 's/^key: //p')
RATED=$(echo "$KEYS_OUT" | sed -n 's/^rated key: //p')
METERED=$(echo "$KEYS_OUT" | sed -n 's/^metered key: //p')
[ -n "$KEY" ] && [ -n "$RATED" ] && [ -n "$METERED" ] || { echo "no keys from million-keys" >&2; exit 1; }

# The server's CPU time so far, in ns: the sum over its threads (scheduler statistics).
cpu_ns() { cat /proc/"$SERVER_PID"/task/*/schedstat | awk '{s += $1} END {printf "%.0f\n", s}'; }

# One wrk run: prints "requests/s server-cpu-% server-cpu-µs-per-request".
measure() {
    local out before after
    before=$(cpu_ns)
    out=$("${ON_CLIENT_CORE[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$@")
    after=$(cpu_ns)
    echo "$out" >>"$WORK/wrk.log"
    if echo "$out" | grep -Eq 'Non-2xx or 3xx responses|Socket errors'; then
        echo "$out" >&2
        echo "wrk saw errors" >&2
        return 1
    fi
    echo "$out" | awk -v b="$before" -v a="$after" '
        / requests in / {n = $1; t = $4; sub(/s,$/, "", t)}
        /^Requests\/sec:/ {r = $2}
        END {printf "%s %.0f %.3f\n", r, (a - b) / 1e7 / t, (a - b) / 1e3 / n}'
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(uptime | sed 's/.*load average: //')"
if [ "$PIN" = 1 ]; then pinning="server on core $SERVER_CPU, wrk on core $CLIENT_CPU"; else pinning="unpinned"; fi
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $RUNS runs, $pinning, store of 1,000,000 keys"
SUMMARY=$WORK/summary
for server in $SERVERS; do
    addr=127.0.0.1:$PORT
    "${ON_SERVER_CORE[@]}" "$BIN_DIR/$server" --store "$STORE" --addr "$addr" >"$WORK/$server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 300); do
        grep -q 'listening on' "$WORK/$server.log" && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/$server.log" >&2; exit 1; }
        sleep 0.1
    done
    grep -q 'listening on' "$WORK/$server.log" || { echo "$server did not start" >&2; exit 1; }
    if command -v curl >/dev/null; then
        open_body=$(curl -fsS "http://$addr/public")
        keyed_body=$(curl -fsS -H "Authorization: Api-Key $KEY" "http://$addr/private")
        [ "$open_body" = "$keyed_body" ] || { echo "$server: /public and /private differ" >&2; exit 1; }
    fi
    # Warm-up: connections, the record cache, the allocator.
    "${ON_CLIENT_CORE[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://$addr/public" >/dev/null
    "${ON_CLIENT_CORE[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "Authorization: Api-Key $KEY" "http://$addr/private" >/dev/null
    opens=
    keyeds=
    open_cpus=
    keyed_cpus=
    pair_addeds=
    pair_ratios=
    for run in $(seq "$RUNS"); do
        # ABBA: every other pair runs keyed first, so that a drift in the machine's speed
        # during a pair does not always favour the same route.
        if [ $((run % 2)) = 1 ]; then
            measure "http://$addr/public" >"$WORK/m"
            read -r open open_share open_cpu <"$WORK/m"
            measure -H "Authorization: Api-Key $KEY" "http://$addr/private" >"$WORK/m"
            read -r keyed keyed_share keyed_cpu <"$WORK/m"
        else
            measure -H "Authorization: Api-Key $KEY" "http://$addr/private" >"$WORK/m"
            read -r keyed keyed_share keyed_cpu <"$WORK/m"
            measure "http://$addr/public" >"$WORK/m"
            read -r open open_share open_cpu <"$WORK/m"
        fi
        pair_addeds="$pair_addeds $(awk -v o="$open" -v k="$keyed" 'BEGIN {printf "%.4f", 1e6 / k - 1e6 / o}')"
        pair_ratios="$pair_ratios $(awk -v o="$open" -v k="$keyed" 'BEGIN {printf "%.4f", k / o}')"
        opens="$opens $open"
        keyeds="$keyeds $keyed"
        open_cpus="$open_cpus $open_cpu"
        keyed_cpus="$keyed_cpus $keyed_cpu"
        awk -v s="$server" -v n="$run" -v o="$open" -v os="$open_share" -v oc="$open_cpu" \
            -v k="$keyed" -v ks="$keyed_share" -v kc="$keyed_cpu" \
            'BEGIN {printf "  %-13s run %2d: open %7.0f req/s (cpu %3d %%, %6.3f µs/req)  keyed %7.0f req/s (cpu %3d %%, %6.3f µs/req)  %+6.2f µs  ratio %.3f  cpu %+6.3f µs\n", s, n, o, os, oc, k, ks, kc, 1e6 / k - 1e6 / o, k / o, kc - oc}'
    done
    open=$(echo "$opens" | median)
    keyed=$(echo "$keyeds" | median)
    open_cpu=$(echo "$open_cpus" | median)
    keyed_cpu=$(echo "$keyed_cpus" | median)
    pair_added=$(echo "$pair_addeds" | median)
    pair_ratio=$(echo "$pair_ratios" | median)
    extra=
    if [ "$LIMITS" = 1 ]; then
        # The same route with a rate-limited key and with a metered one (limits too high to
        # refuse), against the plain key.
        "${ON_CLIENT_CORE[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "Authorization: Api-Key $METERED" "http://$addr/private" >/dev/null
        measure -H "Authorization: Api-Key $RATED" "http://$addr/private" >"$WORK/m"
        read -r rated _ <"$WORK/m"
        measure -H "Authorization: Api-Key $METERED" "http://$addr/private" >"$WORK/m"
        read -r metered _ <"$WORK/m"
        extra=$(awk -v r="$rated" -v m="$metered" -v k="$keyed" 'BEGIN {printf "  rated/keyed %.2f  metered/keyed %.2f", r / k, m / k}')
    fi
    awk -v s="$server" -v o="$open" -v k="$keyed" -v oc="$open_cpu" -v kc="$keyed_cpu" -v e="$extra" \
        -v pa="$pair_added" -v pr="$pair_ratio" \
        'BEGIN {printf "%-14s %12.0f %12.0f %10.2f %8.3f %11.2f %8.3f %13.3f %13.3f %10.3f %8.3f%s\n", s, o, k, 1e6 / k - 1e6 / o, k / o, pa, pr, oc, kc, kc - oc, oc / kc, e}' >>"$SUMMARY"
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
done
echo "medians:"
printf '%-14s %12s %12s %10s %8s %11s %8s %13s %13s %10s %8s\n' server 'open req/s' 'keyed req/s' 'added µs' ratio \
    'pair added' 'pair rat' 'open cpu µs' 'keyed cpu µs' 'added cpu' 'cpu ratio'
echo "(req/s columns: medians of the runs, added = 1e6/keyed - 1e6/open; pair columns: the"
echo " median over the runs of each pair's own added µs and ratio; cpu columns: the server's"
echo " CPU time per request, medians, added = keyed - open, ratio = open/keyed)"
cat "$SUMMARY"
