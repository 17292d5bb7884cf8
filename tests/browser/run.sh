#!/usr/bin/env bash
# Runs the browser tests (or, with `screenshots`, the screenshot script) against a freshly started
# chat-host in development mode, with its database and blobs in a temporary directory.
#
#   tests/browser/run.sh <path-to-chat-host-binary> [test|screenshots]
#
# Needs Node 20+ and a Chromium at /usr/bin/chromium (Debian's `chromium` package), or CHROMIUM_PATH.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 <path-to-chat-host-binary> [test|screenshots]" >&2
  exit 2
fi
binary="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
mode="${2:-test}"
here="$(cd "$(dirname "$0")" && pwd)"

if [ ! -x "$binary" ]; then
  echo "chat-host binary not found or not executable: $binary" >&2
  exit 2
fi
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  echo "Chromium not found at ${CHROMIUM_PATH:-/usr/bin/chromium} (apt-get install -y chromium)" >&2
  exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/chat-browser-run.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  if [ "${KEEP_TMP:-}" = "1" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

mkdir -p "$work/blobs"
# Development mode: no JWT secret or public key in the environment.
(
  cd "$work"
  unset CHAT_JWT_SECRET CHAT_JWT_PUBLIC_KEY CHAT_BUS_URL CHAT_ALLOWED_ORIGINS
  export CHAT_LISTEN=127.0.0.1:0
  export CHAT_DATABASE_URL="sqlite://$work/chat.db?mode=rwc"
  export CHAT_BLOB_DIR="$work/blobs"
  export CHAT_DURABILITY=fast
  exec "$binary" >"$work/server.out" 2>"$work/server.err"
) &
server_pid=$!

# The server prints its bound address on start ("chat-host listening on http://127.0.0.1:PORT").
# Accept any line naming an http URL or host:port, on stdout or stderr.
address=""
for _ in $(seq 1 600); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "chat-host exited before it listened:" >&2
    cat "$work/server.out" "$work/server.err" >&2
    exit 1
  fi
  address="$(grep -ahoE 'https?://(\[[0-9a-fA-F:]+\]|[0-9]{1,3}(\.[0-9]{1,3}){3}|localhost):[0-9]+' "$work/server.out" "$work/server.err" 2>/dev/null | head -n1 || true)"
  if [ -z "$address" ]; then
    hostport="$(grep -aiE 'listen|bound' "$work/server.out" "$work/server.err" 2>/dev/null | grep -aoE '(\[[0-9a-fA-F:]+\]|[0-9]{1,3}(\.[0-9]{1,3}){3}|localhost):[0-9]+' | grep -v ':0$' | head -n1 || true)"
    [ -n "$hostport" ] && address="http://$hostport"
  fi
  [ -n "$address" ] && break
  sleep 0.1
done
if [ -z "$address" ]; then
  echo "chat-host did not print its address within 60 s:" >&2
  cat "$work/server.out" "$work/server.err" >&2
  exit 1
fi
echo "chat-host is listening on $address"

# Wait until it answers, and check that it serves the page at all.
page_type=""
for _ in $(seq 1 100); do
  page_type="$(curl -fsS -o /dev/null -w '%{content_type}' "$address/" 2>/dev/null || true)"
  [ -n "$page_type" ] && break
  sleep 0.1
done
case "$page_type" in
  text/html*) ;;
  *)
    echo "chat-host at $address does not serve the web page at / (got '${page_type:-no answer}')." >&2
    echo "Is the web router (chat-host/src/web.rs) merged into the application's router?" >&2
    exit 1
    ;;
esac

cd "$here"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

export CHAT_BASE_URL="$address"
status=0
case "$mode" in
  test) node --test --test-concurrency=1 --test-reporter=spec test/ || status=$? ;;
  screenshots) node screenshots.mjs || status=$? ;;
  *) echo "unknown mode: $mode (test|screenshots)" >&2; status=2 ;;
esac

if [ "$status" -ne 0 ]; then
  echo "--- chat-host stderr (last 60 lines) ---" >&2
  tail -n 60 "$work/server.err" >&2 || true
fi
exit "$status"
