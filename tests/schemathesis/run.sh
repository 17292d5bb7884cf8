#!/usr/bin/env bash
# Property-based API testing with schemathesis against the OpenAPI document the server serves: starts the
# built chat-host on a free port (development mode, SQLite in a temporary directory), logs in through the
# development login, and runs schemathesis with the bearer token. Fails on any 5xx, on a response that
# does not match the document (status, content type, schema), and when the server log shows a panic.
#
#   tests/schemathesis/run.sh [path/to/chat-host]      (default: CHAT_HOST_BIN, else target/debug/chat-host)
#
# Needs `schemathesis` (pip; .ci/run installs a pinned version). Bounded by SCHEMATHESIS_MAX_TIME seconds
# (default 110) and SCHEMATHESIS_MAX_EXAMPLES per operation (default 50).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-${CHAT_HOST_BIN:-$root/target/debug/chat-host}}"
max_time="${SCHEMATHESIS_MAX_TIME:-110}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-50}"
if ! command -v schemathesis >/dev/null; then
    echo "schemathesis is not installed (python3 -m pip install schemathesis)" >&2
    exit 1
fi

# shellcheck source=../support/dev_server.sh
source "$root/tests/support/dev_server.sh"
start_dev_server "$bin"
base="$DEV_SERVER_BASE"
work="$DEV_SERVER_WORK"

# A peer first, so that generated ids sometimes hit a real user; then the caller's token.
login() {
    curl -fsS -H 'content-type: application/json' -d "{\"userName\":\"$1\"}" "$base/api/dev/login"
}
login peer >/dev/null
token="$(login fuzzer | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"

status=0
start=$(date +%s)
# Per-user rate limits (20 calls/s, 5 sends/s) answer 429 past them; 429 is documented, but pacing the run
# keeps most examples reaching the handlers.
# Run from the temporary directory with an in-memory example database, so nothing is left in the tree.
(cd "$work" && schemathesis run "$base/api/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$max_examples" \
    --max-time "$max_time" \
    --rate-limit 18/s \
    --request-timeout 10 \
    --workers 1 \
    --seed "${SCHEMATHESIS_SEED:-20261122}" \
    --no-color \
    --generation-database :memory: \
    --report junit --report-dir "$work/report") \
    || status=$?
echo "schemathesis finished in $(( $(date +%s) - start )) s (exit $status)"
shopt -s nullglob
reports=("$work"/report/junit*.xml)
shopt -u nullglob
if [ ${#reports[@]} -gt 0 ]; then
    python3 - "${reports[0]}" <<'PY' || true
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
failures = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
print(f"schemathesis: {tests} operations tested, {failures} with failures or errors")
PY
fi

# The server must still be healthy, and must not have panicked or logged an internal error.
if ! curl -fsS "$base/health/ready" >/dev/null; then
    echo "chat-host is not ready after the run" >&2
    status=1
fi
if grep -E 'panicked' "$work/stderr" "$work/stdout"; then
    echo "chat-host panicked during the run (see above)" >&2
    status=1
fi
# A missing metrics page or `chat_errors_total` line fails the run: no evidence is not "no errors".
if ! metrics="$(curl -fsS "$base/metrics")"; then
    echo "could not read chat-host's /metrics after the run" >&2
    status=1
else
    errors="$(awk '$1 == "chat_errors_total" { print $2; exit }' <<<"$metrics")"
    if [ -z "$errors" ]; then
        echo "chat-host's /metrics has no chat_errors_total line; cannot tell whether it counted internal errors" >&2
        status=1
    elif [ "$errors" != "0" ]; then
        echo "chat-host counted $errors internal errors:" >&2
        { grep -i 'error' "$work/stderr" || true; } | tail -20 >&2
        status=1
    fi
fi

stop_dev_server || status=1
exit "$status"
