#!/usr/bin/env bash
# The run command (see README): the whole system end to end in a private network namespace.
#   1. builds tapd and stackclient (release);
#   2. creates a network namespace and starts `tapd --dhcp` in it (tap0, 192.168.10.1/24; tapd
#      drops root to nobody once the device is up);
#   3. starts `stackclient --serve-http` as an unprivileged user: it gets its address by DHCP
#      from tapd and serves HTTP on the userspace stack;
#   4. fetches the index page with curl from the namespace's kernel side (through tap0) and
#      prints it;
#   5. prints a short tshark summary of the frames tapd saw on the link (its /pcap stream).
# Needs root (namespace, TAP). Sends traffic only inside the namespace it creates; removes it
# and every process it started on exit, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (it creates a network namespace and a TAP device): sudo $0" >&2; exit 1; }

need=()
for p in iproute2 curl tshark util-linux; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
    echo "==> installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "==> building tapd and stackclient (release)"
if command -v cargo >/dev/null; then
    cargo build -q --release -p tapd -p stackclient
elif [ -n "${SUDO_USER:-}" ]; then
    # sudo resets PATH: build as the invoking user, with their Rust toolchain.
    runuser -u "$SUDO_USER" -- bash -lc 'cd "$0" && cargo build -q --release -p tapd -p stackclient' "$PWD"
else
    echo "demo.sh: cargo not found: install Rust (https://rustup.rs) first" >&2
    exit 1
fi

NS=demo-$$
WORK=$(mktemp -d)
chmod 755 "$WORK"
# The unprivileged user runs its own copy: the checkout may sit in a home it cannot enter.
install -m 755 target/release/stackclient target/release/tapd "$WORK/"
USER_NAME=nobody
USER_GROUP=$(id -gn nobody)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
in_ns() { ip netns exec "$NS" "$@"; }

wait_for() { # what, command...
    local what=$1
    shift
    for _ in $(seq 300); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "demo.sh: timed out waiting for $what" >&2
    cat "$WORK"/*.log >&2 2>/dev/null || true
    return 1
}

echo "==> network namespace $NS; tapd --dhcp in it (tap0, 192.168.10.1/24)"
ip netns add "$NS"
ip -n "$NS" link set lo up
# (ip netns exec, not in_ns: the background job's pid is then the daemon's own.)
ip netns exec "$NS" "$WORK/tapd" --dhcp --name tap0 --addr 192.168.10.1/24 >"$WORK/tapd.log" 2>&1 &
pids+=($!)
TAPD_PID=$!
wait_for "tapd" in_ns curl -sf -m 1 http://127.0.0.1:7070/healthz
# Everything tapd sees on the link, both ways (including the DHCP replies it makes).
ip netns exec "$NS" curl -sN http://127.0.0.1:7070/pcap -o "$WORK/link.pcap" &
pids+=($!)
CAPTURE_PID=$!
wait_for "the capture" test -s "$WORK/link.pcap"

echo "==> stackclient --serve-http as $USER_NAME (DHCP from tapd)"
ip netns exec "$NS" setpriv --reuid="$USER_NAME" --regid="$USER_GROUP" --clear-groups --no-new-privs \
    "$WORK/stackclient" --serve-http >"$WORK/stackclient.out" 2>"$WORK/stackclient.log" &
pids+=($!)
SC_PID=$!
wait_for "stackclient's lease" grep -q '^serving http://' "$WORK/stackclient.out"
sed 's/^/    /' "$WORK/stackclient.out"
URL=$(awk '/^serving http:/ { print $2 }' "$WORK/stackclient.out")
URL=${URL%:80/}/
echo "    (running as: $(ps -o user= -p "$SC_PID"))"

echo "==> curl $URL from the namespace's kernel side, through tap0 (HTML tags stripped)"
page=$(in_ns curl -sf --max-time 10 "$URL")
# As text: no style or tags; the counters table folded four to a line.
echo "$page" | sed -e 's/<style>.*<\/style>//' -e 's/<title>.*<\/title>//' -e 's/<[^>]*>/ /g' \
    -e 's/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g' -e 's/  */ /g' -e 's/^ //' -e 's/ $//' |
    grep -v '^ *$' | awk '
        /^Stack counters/ { print; table = 1; next }
        table { row = row sprintf("%-28s", $0); if (++n % 3 == 0) { print row; row = "" }; next }
        { print }
        END { if (row != "") print row }' | sed 's/^/    /'

# stackclient gives its lease back on SIGTERM; then tapd ends the /pcap stream.
kill "$SC_PID"
wait "$SC_PID" 2>/dev/null || true
kill "$TAPD_PID"
wait "$TAPD_PID" 2>/dev/null || true
wait "$CAPTURE_PID" 2>/dev/null || true

echo "==> the frames on the link (tshark)"
tshark -n -r "$WORK/link.pcap" -Y 'dhcp || arp || http' 2>/dev/null | sed 's/^/    /'
echo "    protocol hierarchy:"
tshark -n -r "$WORK/link.pcap" -q -z io,phs 2>/dev/null | grep -v '^=*$' | sed 's/^/    /'
frames=$(tshark -n -r "$WORK/link.pcap" 2>/dev/null | wc -l)
echo "==> $frames frames; the demo removes its namespace and processes now"
