#!/usr/bin/env bash
# Starts the built chat-host binary on a free port (development mode, SQLite in a temporary directory),
# runs the independent Python client against it, then stops the server with SIGTERM.
#
# Needs: python3 with `python-socketio[client]` and `requests` installed, and the binary built
# (`cargo build -p chat-host`). Usage: run_python_client.sh [path/to/chat-host] (default: CHAT_HOST_BIN, else
# target/debug/chat-host).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-${CHAT_HOST_BIN:-$root/target/debug/chat-host}}"
if [ ! -x "$bin" ]; then
    echo "chat-host binary not found at $bin (run: cargo build -p chat-host)" >&2
    exit 1
fi

work="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

env -u CHAT_JWT_SECRET -u CHAT_JWT_PUBLIC_KEY -u CHAT_BUS_URL -u CHAT_ALLOWED_ORIGINS \
    CHAT_LISTEN=127.0.0.1:0 \
    CHAT_DATABASE_URL="sqlite://$work/chat.db?mode=rwc" \
    CHAT_DURABILITY=fast \
    CHAT_BLOB_DIR="$work/blobs" \
    CHAT_DEV_SECRET_FILE="$work/dev-secret" \
    "$bin" serve >"$work/stdout" 2>"$work/stderr" &
pid=$!

# The server prints `chat-host listening on http://ADDR` once it is bound.
base=""
for _ in $(seq 1 300); do
    if line="$(grep -m1 'listening on ' "$work/stdout" 2>/dev/null)"; then
        base="${line##*listening on }"
        break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "chat-host exited before listening:" >&2
        cat "$work/stderr" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$base" ]; then
    echo "chat-host did not print its address within 30 s" >&2
    cat "$work/stderr" >&2
    exit 1
fi
echo "chat-host is at $base"

status=0
python3 "$here/python_client.py" "$base" || status=$?

kill -TERM "$pid"
if ! wait "$pid"; then
    echo "chat-host did not stop cleanly" >&2
    status=1
fi
pid=""
exit "$status"
