#!/usr/bin/env bash
# Runs the whole test suite under Bun, Deno and Node (the same node:test files), prints each runtime's
# counts, and ends with one line "N passed, N failed" summing them (the runners' own summaries vary).
# Counts are of leaf tests (a describe block is not a test); skipped tests count in neither.
# ORCHWF_TEST_RUNTIMES="bun deno node" (default) picks runtimes; extra arguments are test files.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
runtimes=${ORCHWF_TEST_RUNTIMES:-bun deno node}
if [ $# -gt 0 ]; then files=("$@"); else files=(tests/*.test.ts); fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# PGlite snapshots kept on disk (createTestDatabase, scratch replays): shared by this run's files and runtimes,
# never by an earlier run, and not in the user's own cache.
export ORCHWF_CACHE_DIR=${ORCHWF_CACHE_DIR:-$work/cache}
passed=0
failed=0
summary=()

# Adds one runtime's counts; a runner that exits non-zero without a failed test counts one failure.
count() { # runtime status pass fail skip
  local runtime=$1 status=$2 p=${3:-0} f=${4:-0} s=${5:-0}
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "$runtime: the test runner exited $status"; fi
  passed=$((passed + p))
  failed=$((failed + f))
  summary+=("$runtime: $p passed, $f failed, $s skipped")
}

# The CLI and package tests start every runtime (Bun, Deno, Node, compiled binary) in subprocesses themselves:
# they run once, from Bun, rather than three times over. So do the files that start each runtime themselves
# (testing-examples, bench-smoke) and verify.test.ts, whose PGlite replays are the same WebAssembly under every
# runtime and the slowest file of the suite, and extensions.test.ts (same WebAssembly; under Node and Deno PGlite
# 0.5.16 loses pg_trgm queries after other extension libraries were loaded: README, "PGlite extensions"). And
# registry.test.ts, which publishes to a local registry and starts bunx, npx and deno from an empty directory.
once_from_bun() {
  case $1 in
    */cli.test.ts|*/cli-behaviour.test.ts|*/cli-conventions.test.ts|*/cli-cac.test.ts|*/package.test.ts|*/cli-validate.test.ts) return 0 ;;
    */testing-examples.test.ts|*/bench-smoke.test.ts|*/verify.test.ts|*/extensions.test.ts|*/registry.test.ts) return 0 ;;
    */testing-cache.test.ts|*/replay-cache.test.ts) return 0 ;;
    # Files that test the CLI or other subprocesses (started from Bun whatever runs the file), and squash's PGlite
    # replays: run again under Deno and Node they would repeat the same work.
    */parser-lazy.test.ts|*/concurrency.test.ts|*/drift-cli.test.ts|*/squash.test.ts|*/bookkeeping-notices.test.ts) return 0 ;;
    */down-drift.test.ts|*/read-only-missing-database.test.ts|*/url-password-characters.test.ts|*/version-shapes.test.ts) return 0 ;;
    */dirty-message.test.ts|*/dry-run-exact.test.ts|*/ci-reports.test.ts) return 0 ;;
    *) return 1 ;;
  esac
}
others=()
for f in "${files[@]}"; do
  once_from_bun "$f" || others+=("$f")
done

# bun test runs its files one after another in one process: two processes at once use both cores, one with the
# CLI files (about 9 minutes here, most of it cli.test.ts), one with the rest. An empty list must not reach bun
# test (it would run every file).
cli_files=()
rest_files=()
for f in "${files[@]}"; do
  case $f in
    # package and registry both `npm pack` (prepack rebuilds dist/): one process, one after the other.
    */cli*.test.ts|*/package.test.ts|*/registry.test.ts|*/testing-examples.test.ts) cli_files+=("./$f") ;;
    *) rest_files+=("./$f") ;;
  esac
done
bun_shard() { # log files...
  local log=$1
  shift
  if [ $# -eq 0 ]; then : >"$log"; return 0; fi
  bun test --timeout 120000 "$@" >"$log" 2>&1
}

for runtime in $runtimes; do
  log="$work/$runtime.log"
  echo "=== $runtime ==="
  if [ "$runtime" != bun ] && [ ${#others[@]} -eq 0 ]; then summary+=("$runtime: no files to run"); continue; fi
  case $runtime in
    bun)
      # bun test prints " N pass", " N skip" and " N fail" lines at the end of each process. --timeout: bunfig's
      # [test] timeout does not reach node:test tests, whose limit is otherwise 5 s (a fresh PGlite can take longer).
      bun_shard "$work/bun-cli.log" "${cli_files[@]}" &
      cli_pid=$!
      rest_status=0
      bun_shard "$work/bun-rest.log" "${rest_files[@]}" || rest_status=$?
      cli_status=0
      wait "$cli_pid" || cli_status=$?
      cat "$work/bun-cli.log" "$work/bun-rest.log" | tee "$log"
      status=$((cli_status > rest_status ? cli_status : rest_status))
      pick() { # what, summed over both processes
        local n=0 f v
        for f in "$work/bun-cli.log" "$work/bun-rest.log"; do
          v=$(grep -E "^ *[0-9]+ $1\$" "$f" | tail -1 | grep -oE '[0-9]+' || echo 0)
          n=$((n + v))
        done
        echo "$n"
      }
      count bun "$status" "$(pick pass)" "$(pick fail)" "$(pick skip)"
      ;;
    deno)
      # Deno counts a describe block as a test and its tests as steps: count the leaves of its JUnit report.
      # --parallel: one file per core at a time.
      deno test -A --parallel --junit-path="$work/deno.xml" "${others[@]}" 2>&1 | tee "$log"
      status=${PIPESTATUS[0]}
      read -r p f s < <(node scripts/junit-leaves.mjs "$work/deno.xml" 2>/dev/null || echo "0 0 0")
      count deno "$status" "$p" "$f" "$s"
      ;;
    node)
      # Node 20 cannot run .ts: tsx (a devDependency) loads it. The spec reporter ends with "ℹ pass N" lines.
      # --test-concurrency=2: one file per core at a time (Node's default leaves one core idle here).
      node --import tsx --test --test-concurrency=2 --test-reporter=spec "${others[@]}" 2>&1 | tee "$log"
      status=${PIPESTATUS[0]}
      pick() { grep -E "^ℹ $1 [0-9]+\$" "$log" | tail -1 | grep -oE '[0-9]+' || echo 0; }
      count node "$status" "$(pick pass)" "$(pick fail)" "$(pick skipped)"
      ;;
    *)
      echo "unknown runtime $runtime"; count "$runtime" 1 0 1 0
      ;;
  esac
done

echo
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
