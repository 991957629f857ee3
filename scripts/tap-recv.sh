#!/usr/bin/env bash
# Receives Ethernet frames from tapd and prints each as one line of hex; prints nothing when
# no frame is queued.
#   scripts/tap-recv.sh                 # the oldest queued frame, if any
#   scripts/tap-recv.sh --wait 2000     # wait up to 2 s for one
#   scripts/tap-recv.sh --max 64        # up to 64 frames, one per line
# Environment: TAPD_URL (default http://127.0.0.1:7070), TAPD_TOKEN (bearer token, if set).
set -euo pipefail

usage() { echo "usage: $0 [--wait MS] [--max N]" >&2; exit 2; }
url="${TAPD_URL:-http://127.0.0.1:7070}"
query=()
while (($#)); do
    case "$1" in
        --wait) [ $# -ge 2 ] || usage; query+=("wait_ms=$2"); shift 2 ;;
        --max) [ $# -ge 2 ] || usage; query+=("max=$2"); shift 2 ;;
        *) usage ;;
    esac
done
q=""
((${#query[@]})) && q="?$(IFS='&'; echo "${query[*]}")"

auth=()
[ -n "${TAPD_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $TAPD_TOKEN")
out="$(curl -sS "${auth[@]}" -w '\n%{http_code}' "$url/recv$q")"
code="${out##*$'\n'}"
body="${out%$'\n'*}"
if [ "$code" != 200 ]; then
    echo "tap-recv: HTTP $code: $body" >&2
    exit 1
fi
# The body is "b64" or ["b64",...]; base64 has no quote, comma or bracket, so this is exact.
tr -d '[]" \n' <<<"$body" | tr ',' '\n' | while IFS= read -r b64 || [ -n "$b64" ]; do
    [ -n "$b64" ] || continue
    base64 -d <<<"$b64" | od -An -v -tx1 | tr -d ' \n'
    echo
done
