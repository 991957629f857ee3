#!/usr/bin/env bash
# End-to-end benchmarks of tapd + stackclient, in a private network namespace it creates
# (root). Prints the figures and their targets:
#   1. curl downloads 256 MiB from `stackclient --serve-http` through tapd (>= 100 MB/s)
#      and through a direct TAP link (>= 500 MB/s); the TAP again with --no-offload, for
#      comparison (TCP segmentation offload: the stack hands 64 KiB frames to the kernel);
#   2. the kernel pings the stack through tapd: median round trip (<= 1 ms);
#   3. CPU used by tapd + stackclient over 10 idle seconds (<= 1% of one core).
# Usage: sudo scripts/bench-e2e.sh [MiB]   (default 256; release build)
# Sends traffic only inside the namespace; removes it and every process it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "bench-e2e.sh: run as root (it creates a network namespace): sudo $0" >&2; exit 1; }
for c in curl ping ip; do
    command -v "$c" >/dev/null || { echo "bench-e2e.sh: $c is missing (scripts/test.sh installs it)" >&2; exit 1; }
done

MIB=${1:-256}
BYTES=$((MIB << 20))
echo "==> building tapd and stackclient (release)"
cargo build -q --release -p tapd -p stackclient
TAPD="$PWD/target/release/tapd"
SC="$PWD/target/release/stackclient"

NS=bench-e2e-$$
WORK=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }
# Long-running processes start with `ip netns exec` itself (it execs, so $! is the process),
# not through in_ns: a backgrounded function is a subshell, and killing it would leave its
# child running and measure the subshell's CPU instead of the process's.

# Waits for a line starting with $2 in file $1; prints it.
wait_line() {
    for _ in $(seq 400); do
        if line=$(grep -m1 "^$2" "$1" 2>/dev/null); then
            echo "$line"
            return 0
        fi
        sleep 0.1
    done
    echo "bench-e2e.sh: no '$2' in $1:" >&2
    cat "$1" "$1.err" >&2 2>/dev/null || true
    return 1
}

# utime + stime of a process, in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Downloads $BYTES from $1 with curl; prints MB/s (10^6 bytes per second).
download() {
    local out
    out=$(in_ns curl -s -o /dev/null -w '%{size_download} %{speed_download}' --max-time 300 "$1")
    local size=${out% *} speed=${out#* }
    [ "$size" -eq "$BYTES" ] || { echo "bench-e2e.sh: got $size bytes of $BYTES from $1" >&2; return 1; }
    awk -v s="$speed" 'BEGIN { printf "%.0f", s / 1e6 }'
}

verdict() { # value target "ge"|"le"
    awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN {
        ok = (op == "ge") ? (v >= t) : (v <= t); print ok ? "met" : "MISSED" }'
}

echo "==> tapd --dhcp in namespace $NS; stackclient --serve-http through it"
ip netns exec "$NS" "$TAPD" --dhcp --name tbench0 --addr 192.168.10.1/24 >"$WORK/tapd.log" 2>&1 &
pids+=($!)
TAPD_PID=$!
for _ in $(seq 100); do in_ns curl -sf -m 1 http://127.0.0.1:7070/healthz >/dev/null && break; sleep 0.1; done
ip netns exec "$NS" "$SC" --serve-http >"$WORK/serve.out" 2>"$WORK/serve.out.err" &
pids+=($!)
SC_PID=$!
line=$(wait_line "$WORK/serve.out" "serving http://")
BASE=$(echo "$line" | awk '{print $2}')
BASE=${BASE%/}
ADDR=${BASE#http://}
ADDR=${ADDR%:*}
echo "    $(grep '^lease:' "$WORK/serve.out")"
in_ns curl -sf -m 10 "$BASE/" >/dev/null

echo "==> 1a. curl: $MIB MiB from $BASE/bytes through tapd"
in_ns curl -sf -o /dev/null "$BASE/bytes/1048576" # warm up
via_tapd=$(download "$BASE/bytes/$BYTES")
echo "    $via_tapd MB/s (target >= 100 MB/s: $(verdict "$via_tapd" 100 ge))"

echo "==> 2. kernel ping -> stackclient through tapd: 200 round trips, 10 ms apart"
in_ns ping -c 200 -i 0.01 -q "$ADDR" >/dev/null 2>&1 || true # warm up (ARP)
in_ns ping -c 200 -i 0.01 "$ADDR" | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | sort -n >"$WORK/rtt"
n=$(wc -l <"$WORK/rtt")
[ "$n" -gt 0 ] || { echo "bench-e2e.sh: no ping replies" >&2; exit 1; }
median=$(awk -v n="$n" 'NR == int((n + 1) / 2) { print }' "$WORK/rtt")
p90=$(awk -v n="$n" 'NR == int(n * 0.9) { print }' "$WORK/rtt")
echo "    median $median ms, p90 $p90 ms, $n replies (target median <= 1 ms: $(verdict "$median" 1 le))"

echo "==> 3. CPU of tapd + stackclient over 10 idle seconds"
sleep 2
t0=$(($(ticks "$TAPD_PID") + $(ticks "$SC_PID")))
sleep 10
t1=$(($(ticks "$TAPD_PID") + $(ticks "$SC_PID")))
hz=$(getconf CLK_TCK)
cpu=$(awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN { printf "%.2f", 100 * d / hz / 10 }')
echo "    $cpu% of one core ($((t1 - t0)) ticks at $hz/s) (target <= 1%: $(verdict "$cpu" 1 le))"

kill "$SC_PID" "$TAPD_PID" 2>/dev/null || true
wait "$SC_PID" "$TAPD_PID" 2>/dev/null || true

echo "==> 1b. curl: $MIB MiB through a direct TAP (stackclient --link tap:tbench1, static address)"
ip netns exec "$NS" "$SC" --link tap:tbench1 --addr 192.168.11.2/24 serve-http >"$WORK/tap.out" 2>"$WORK/tap.out.err" &
pids+=($!)
TAP_PID=$!
wait_line "$WORK/tap.out" "serving http://" >/dev/null
in_ns ip addr add 192.168.11.1/24 dev tbench1
for _ in $(seq 100); do in_ns curl -sf -m 1 http://192.168.11.2/ >/dev/null && break; sleep 0.1; done
in_ns curl -sf -o /dev/null "http://192.168.11.2/bytes/1048576"
via_tap=$(download "http://192.168.11.2/bytes/$BYTES")
echo "    $via_tap MB/s (target >= 500 MB/s: $(verdict "$via_tap" 500 ge))"
kill "$TAP_PID" 2>/dev/null || true
wait "$TAP_PID" 2>/dev/null || true

# For comparison (no target): every frame cut to the MTU by the stack itself.
echo "==> 1c. the same direct TAP with --no-offload (every frame within the 1500-byte MTU)"
ip netns exec "$NS" "$SC" --link tap:tbench2 --addr 192.168.12.2/24 --no-offload serve-http >"$WORK/tap2.out" 2>"$WORK/tap2.out.err" &
pids+=($!)
wait_line "$WORK/tap2.out" "serving http://" >/dev/null
in_ns ip addr add 192.168.12.1/24 dev tbench2
for _ in $(seq 100); do in_ns curl -sf -m 1 http://192.168.12.2/ >/dev/null && break; sleep 0.1; done
in_ns curl -sf -o /dev/null "http://192.168.12.2/bytes/1048576"
no_offload=$(download "http://192.168.12.2/bytes/$BYTES")
echo "    $no_offload MB/s"

echo
echo "summary: through tapd $via_tapd MB/s, direct TAP $via_tap MB/s ($no_offload MB/s without offload), ping median $median ms, idle CPU $cpu%"
