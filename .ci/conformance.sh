#!/usr/bin/env bash
# Runs the official MCP conformance suite (server mode) against `troupe serve`.
#
# Starts the built CLI on a free 127.0.0.1 port with the simulated provider, runs the suite under
# Node 22 (the suite needs it; `npx -y node@22` fetches it), compares with the expected failures in
# .ci/conformance-expected-failures.txt, stops the server, and exits with the suite's code:
# 0 when every failure is expected and every expected failure still fails.
#
# Usage: .ci/conformance.sh [--suite active|all] [extra conformance args...]
# Env:   CONFORMANCE_VERSION (default 0.1.16), OUT_DIR (default a fresh temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${CONFORMANCE_VERSION:-0.1.16}"
OUT_DIR="${OUT_DIR:-$(mktemp -d -t troupe-conformance-results-XXXXXX)}"
BASELINE_TXT=".ci/conformance-expected-failures.txt"
BASELINE_YML="$(mktemp -t troupe-conformance-XXXXXX.yml)"
SERVER_LOG="$(mktemp -t troupe-serve-XXXXXX.log)"

[ -f dist/src/cli/main.js ] || npx tsc -p tsconfig.build.json

# The suite reads a YAML baseline; the text file is the reviewed source of truth.
{
  echo "server:"
  sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$BASELINE_TXT" | grep -v '^$' | sed 's/^/  - /'
} >"$BASELINE_YML"

PORT="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
# No provider keys: the simulated provider answers, so the run needs no network beyond npx.
env -u MOONSHOT_API_KEY -u ZHIPUAI_API_KEY -u TROUPE_TOKEN \
  node dist/src/cli/main.js serve --port "$PORT" --drain-ms 1000 2>"$SERVER_LOG" &
SERVER_PID=$!
cleanup() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  rm -f "$BASELINE_YML" "$SERVER_LOG"
}
trap cleanup EXIT

for _ in $(seq 1 50); do
  grep -q 'serving MCP at' "$SERVER_LOG" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; exit 1; }
  sleep 0.1
done
grep -q 'serving MCP at' "$SERVER_LOG" || { echo "troupe serve did not start" >&2; cat "$SERVER_LOG" >&2; exit 1; }

set +e
npx -y -p node@22 -p "@modelcontextprotocol/conformance@${VERSION}" -- \
  conformance server --url "http://127.0.0.1:${PORT}/mcp" \
  --expected-failures "$BASELINE_YML" -o "$OUT_DIR" "$@"
CODE=$?
set -e
# The server's log goes with the run (cleanup); on a failure its end is shown first.
[ "$CODE" -eq 0 ] || { echo "troupe serve's log (last 50 lines):" >&2; tail -n 50 "$SERVER_LOG" >&2; }
echo "conformance exit code: $CODE (results in $OUT_DIR)"
exit "$CODE"
