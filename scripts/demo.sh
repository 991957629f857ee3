#!/usr/bin/env bash
# The run command (see README). Until tapd and the stack land, it shows proto-core's wire layer
# on live traffic: two private network namespaces joined by a veth pair exchange ARP, ping,
# ping6 and an HTTP request (python3 http.server + curl); tcpdump captures it; and
# `stackclient decode` prints every frame as proto-core parses it, checksums verified.
# Needs root (namespaces). Sends traffic only between the namespaces it creates; removes them
# and every process it started on exit, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (it creates network namespaces): sudo $0" >&2; exit 1; }

need=()
for p in iproute2 tcpdump iputils-ping ethtool curl python3; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
    echo "==> installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "==> building stackclient"
cargo build -q --release -p stackclient
BIN="$PWD/target/release/stackclient"

A=demo-a-$$ B=demo-b-$$
WORK=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$A" 2>/dev/null || true
    ip netns del "$B" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "==> namespaces $A (192.168.78.1, fd78::1) <-> $B (192.168.78.2, fd78::2)"
ip netns add "$A"
ip netns add "$B"
ip link add veth-a netns "$A" type veth peer name veth-b netns "$B"
for ns in "$A" "$B"; do
    dev=veth-${ns:5:1}
    ip -n "$ns" link set lo up
    # Real checksums on the wire (no offload), so the capture shows what a NIC would send.
    ip netns exec "$ns" ethtool -K "$dev" tx off rx off >/dev/null 2>&1 || true
done
ip -n "$A" addr add 192.168.78.1/24 dev veth-a
ip -n "$B" addr add 192.168.78.2/24 dev veth-b
ip -n "$A" addr add fd78::1/64 dev veth-a nodad
ip -n "$B" addr add fd78::2/64 dev veth-b nodad
ip -n "$A" link set veth-a up
ip -n "$B" link set veth-b up

mkdir -p "$WORK/www"
echo "hello from a private namespace" >"$WORK/www/index.html"
ip netns exec "$B" python3 -m http.server 8000 --bind 192.168.78.2 --directory "$WORK/www" \
    >/dev/null 2>&1 &
pids+=($!)
ip netns exec "$B" tcpdump -i veth-b -s 0 -U --immediate-mode -w "$WORK/demo.pcap" \
    2>/dev/null &
pids+=($!)
for _ in $(seq 50); do
    [ -s "$WORK/demo.pcap" ] && ip netns exec "$B" bash -c 'exec 3<>/dev/tcp/192.168.78.2/8000' 2>/dev/null && break
    sleep 0.1
done

echo "==> traffic: ping, ping6, curl"
ip netns exec "$A" ping -c 2 -i 0.2 -q 192.168.78.2 >/dev/null
ip netns exec "$A" ping -6 -c 2 -i 0.2 -q fd78::2 >/dev/null
page=$(ip netns exec "$A" curl -s --max-time 5 http://192.168.78.2:8000/index.html)
echo "    curl got: $page"
sleep 0.3
kill "${pids[1]}" 2>/dev/null || true
wait "${pids[1]}" 2>/dev/null || true

echo "==> every captured frame, as proto-core parses it (stackclient decode)"
"$BIN" decode "$WORK/demo.pcap"
frames=$("$BIN" decode "$WORK/demo.pcap" | wc -l)
bad=$("$BIN" decode "$WORK/demo.pcap" | grep -c -e 'malformed' -e 'is wrong' || true)
echo "==> $frames frames decoded, $bad malformed or with a wrong checksum"
[ "$bad" -eq 0 ]
