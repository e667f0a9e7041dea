#!/usr/bin/env bash
# End-to-end throughput of each example server: requests/s of `GET /public` (no key) and
# `GET /ping` (a valid key, looked up in a redb store of 1,000,000 keys), and their ratio;
# then /ping with a rate-limited key and with a key holding credits, against the plain key.
# Target: /ping keeps >= 85% of /public's throughput. Exits non-zero only when something
# fails to run, not on a missed target.
#
#   bash benches/http.sh            # DURATION=10s THREADS=2 CONNECTIONS=32 PORT=18080
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18080}
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

cd "$ROOT"
cargo build --release -q -p apikeys-examples --bins
cargo build --release -q -p apikeys-benches --bin million-keys
KEYS_OUT=$(APIKEYS_BENCH_STORE="$STORE" ./target/release/million-keys)
KEY=$(echo "$KEYS_OUT" | sed -n 's/^key: //p')
RATED=$(echo "$KEYS_OUT" | sed -n 's/^rated key: //p')
METERED=$(echo "$KEYS_OUT" | sed -n 's/^metered key: //p')
[ -n "$KEY" ] && [ -n "$RATED" ] && [ -n "$METERED" ] || { echo "no keys from million-keys" >&2; exit 1; }

# Requests/s that wrk reports for one route.
rps() {
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$@")
    echo "$out" >>"$WORK/wrk.log"
    if echo "$out" | grep -Eq 'Non-2xx or 3xx responses|Socket errors'; then
        echo "$out" >&2
        echo "wrk saw errors" >&2
        return 1
    fi
    echo "$out" | awk '/^Requests\/sec:/ {print $2}'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), wrk -t$THREADS -c$CONNECTIONS -d$DURATION, store of 1,000,000 keys"
printf '%-14s %12s %12s %8s %12s %12s\n' server 'public req/s' 'ping req/s' ratio 'rated/ping' 'metered/ping'
for server in axum-server actix-server warp-server; do
    addr=127.0.0.1:$PORT
    "./target/release/$server" --store "$STORE" --addr "$addr" >"$WORK/$server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 300); do
        grep -q 'listening on' "$WORK/$server.log" && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/$server.log" >&2; exit 1; }
        sleep 0.1
    done
    grep -q 'listening on' "$WORK/$server.log" || { echo "$server did not start" >&2; exit 1; }
    if command -v curl >/dev/null; then
        curl -fsS -o /dev/null -H "Authorization: Api-Key $KEY" "http://$addr/ping"
    fi
    # Warm-up: connections, the record cache, the allocator.
    wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://$addr/public" >/dev/null
    wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "Authorization: Api-Key $KEY" "http://$addr/ping" >/dev/null
    public=$(rps "http://$addr/public")
    ping=$(rps -H "Authorization: Api-Key $KEY" "http://$addr/ping")
    ratio=$(awk -v p="$ping" -v o="$public" 'BEGIN {printf "%.2f", p / o}')
    # The same route with a rate-limited key and with a metered one (limits too high to refuse).
    wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "Authorization: Api-Key $METERED" "http://$addr/ping" >/dev/null
    rated=$(rps -H "Authorization: Api-Key $RATED" "http://$addr/ping")
    metered=$(rps -H "Authorization: Api-Key $METERED" "http://$addr/ping")
    rated_ratio=$(awk -v r="$rated" -v p="$ping" 'BEGIN {printf "%.2f", r / p}')
    metered_ratio=$(awk -v m="$metered" -v p="$ping" 'BEGIN {printf "%.2f", m / p}')
    printf '%-14s %12s %12s %8s %12s %12s\n' "$server" "$public" "$ping" "$ratio" "$rated_ratio" "$metered_ratio"
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
done
