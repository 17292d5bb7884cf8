# Sourced by the scripts that test a built chat-host from outside (python client, schemathesis): starts it
# in development mode on a free port with SQLite and blobs in a temporary directory, and stops it.
#
#   source tests/support/dev_server.sh
#   start_dev_server path/to/chat-host        # sets DEV_SERVER_BASE (http://127.0.0.1:PORT), DEV_SERVER_WORK
#   ...
#   stop_dev_server                           # SIGTERM, and fails when the server does not stop cleanly
#
# An EXIT trap removes the temporary directory and stops a server still running when the calling script
# exits; an EXIT trap the caller set before `start_dev_server` still runs after it.

DEV_SERVER_PID=""
DEV_SERVER_WORK=""
DEV_SERVER_BASE=""
_DEV_SERVER_CALLER_EXIT=""

_dev_server_cleanup() {
    if [ -n "$DEV_SERVER_PID" ] && kill -0 "$DEV_SERVER_PID" 2>/dev/null; then
        kill -TERM "$DEV_SERVER_PID" 2>/dev/null || true
        wait "$DEV_SERVER_PID" 2>/dev/null || true
    fi
    if [ -n "$DEV_SERVER_WORK" ]; then
        rm -rf "$DEV_SERVER_WORK"
    fi
}

# start_dev_server BIN: starts BIN and waits (30 s at most) for it to print `chat-host listening on URL`.
start_dev_server() {
    local bin="$1"
    if [ ! -x "$bin" ]; then
        echo "chat-host binary not found at $bin (run: cargo build -p chat-host)" >&2
        return 1
    fi
    DEV_SERVER_WORK="$(mktemp -d)"
    # `trap -p EXIT` prints `trap -- 'COMMAND' EXIT`, quoted for the shell: let the shell unquote it.
    local previous
    previous="$(trap -p EXIT)"
    if [ -n "$previous" ] && [[ "$previous" != *_dev_server_cleanup* ]]; then
        eval "set -- $previous"
        _DEV_SERVER_CALLER_EXIT="$3"
    fi
    trap '_dev_server_cleanup; eval "$_DEV_SERVER_CALLER_EXIT"' EXIT
    env -u CHAT_JWT_SECRET -u CHAT_JWT_PUBLIC_KEY -u CHAT_BUS_URL -u CHAT_ALLOWED_ORIGINS \
        CHAT_LISTEN=127.0.0.1:0 \
        CHAT_DATABASE_URL="sqlite://$DEV_SERVER_WORK/chat.db?mode=rwc" \
        CHAT_DURABILITY=fast \
        CHAT_BLOB_DIR="$DEV_SERVER_WORK/blobs" \
        CHAT_DEV_SECRET_FILE="$DEV_SERVER_WORK/dev-secret" \
        RUST_LOG="${RUST_LOG:-warn}" \
        "$bin" serve >"$DEV_SERVER_WORK/stdout" 2>"$DEV_SERVER_WORK/stderr" &
    DEV_SERVER_PID=$!
    local line
    for _ in $(seq 1 300); do
        if line="$(grep -m1 'listening on ' "$DEV_SERVER_WORK/stdout" 2>/dev/null)"; then
            DEV_SERVER_BASE="${line##*listening on }"
            echo "chat-host is at $DEV_SERVER_BASE"
            return 0
        fi
        if ! kill -0 "$DEV_SERVER_PID" 2>/dev/null; then
            echo "chat-host exited before listening:" >&2
            cat "$DEV_SERVER_WORK/stderr" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "chat-host did not print its address within 30 s" >&2
    cat "$DEV_SERVER_WORK/stderr" >&2
    return 1
}

# stop_dev_server: SIGTERM; fails when the server exits with an error.
stop_dev_server() {
    local pid="$DEV_SERVER_PID"
    DEV_SERVER_PID=""
    kill -TERM "$pid"
    if ! wait "$pid"; then
        echo "chat-host did not stop cleanly" >&2
        return 1
    fi
}
