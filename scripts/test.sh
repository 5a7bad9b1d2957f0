#!/usr/bin/env bash
# Runs the whole test suite and ends with one line "N passed, N failed" (the runners' own summaries vary).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
log=$(mktemp)
passed=0
failed=0

# bun test prints " N pass" and " N fail" lines at the end.
bun test --timeout 120000 ./tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
p=$(grep -E '^ *[0-9]+ pass$' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
f=$(grep -E '^ *[0-9]+ fail$' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
passed=$((passed + p))
failed=$((failed + f))
if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); echo "bun test exited $status"; fi

rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
