#!/usr/bin/env bash
# Sends Ethernet frames through tapd: each argument is one frame in hex (spaces and colons
# allowed inside quotes). One frame goes as a JSON string, several as one JSON array.
#   scripts/tap-send.sh ffffffffffff02000000000208060001080006040001020000000002c0a80a02000000000000c0a80a01
# Environment: TAPD_URL (default http://127.0.0.1:7070), TAPD_TOKEN (bearer token, if set).
# Prints nothing on success; prints tapd's JSON error and exits 1 on failure.
set -euo pipefail

usage() { echo "usage: $0 FRAME_HEX [FRAME_HEX...]" >&2; exit 2; }
(($#)) || usage
case "$1" in -h|--help) usage ;; esac

url="${TAPD_URL:-http://127.0.0.1:7070}"
items=()
for arg in "$@"; do
    hex="${arg//[[:space:]:]/}"
    if [[ ! "$hex" =~ ^([0-9a-fA-F]{2})+$ ]]; then
        echo "tap-send: not an even number of hex digits: $arg" >&2
        exit 2
    fi
    # Hex to bytes with printf's \xHH escapes, then standard padded base64 on one line.
    b64="$(printf '%b' "$(sed 's/../\\x&/g' <<<"$hex")" | base64 -w0)"
    items+=("\"$b64\"")
done
if ((${#items[@]} == 1)); then
    body="${items[0]}"
else
    body="[$(IFS=,; echo "${items[*]}")]"
fi

auth=()
[ -n "${TAPD_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $TAPD_TOKEN")
out="$(printf '%s' "$body" | curl -sS "${auth[@]}" -H 'Content-Type: application/json' \
    --data-binary @- -w '\n%{http_code}' "$url/send")"
code="${out##*$'\n'}"
if [ "$code" != 200 ]; then
    echo "tap-send: HTTP $code: ${out%$'\n'*}" >&2
    exit 1
fi
