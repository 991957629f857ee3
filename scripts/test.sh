#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine: installs what the tests need (apt
# packages, Rust components), then formatting, lints, the no_std build, and every test.
# Usage: scripts/test.sh            (as root, or with sudo available, for the apt step)
# CI runs exactly this (see .ci/run). It fails loudly on any missing prerequisite.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Debian packages the suite uses: real peers and capture tools for the namespace tests
# (tapd's tests also run curl, python3 and tshark, and need /dev/net/tun and root).
# stackclient/tests/apps_netns.rs runs dnsmasq (DHCP, DNS), busybox udhcpc, chronyd, curl and
# python3 -m http.server as peers.
APT_PACKAGES=(iproute2 tcpdump tshark iputils-ping socat python3 curl dnsmasq-base chrony busybox
    udhcpc)

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    step "installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p proto-core --no-default-features --lib -- -D warnings

step "cargo test (workspace: unit, integration, fixtures, differential, fuzz corpora, doc,
    tapd in network namespaces incl. scripts/tapclient.py, tap-send.sh, tap-recv.sh,
    the stackclient runtime against the kernel through a TAP in a namespace,
    the stackclient CLI against the real tapd in a namespace: serve-http, ping, get, --pcap)"
# The no_std build is checked by proto-core/tests/no_std_build.rs within this run.
cargo test --workspace

step "all tests passed"
