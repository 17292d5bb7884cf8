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
# shellcheck source=../support/dev_server.sh
source "$root/tests/support/dev_server.sh"
start_dev_server "$bin"
base="$DEV_SERVER_BASE"

status=0
python3 "$here/python_client.py" "$base" || status=$?

stop_dev_server || status=1
exit "$status"
