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

# Deno and Node run the files where the runtime makes a difference: drivers (postgres.js, node-postgres, PGlite),
# the testing helper, the engine's timers, signals and cancels, files and locks on disk, client and server
# settings, URL handling. The rest is the same JavaScript on every runtime (the parser, lint, plans, the catalog
# comparisons, PGlite's WebAssembly, the CLI in subprocesses that start every runtime themselves): it runs once,
# under Bun, rather than three times over.
every_runtime() {
  case $1 in
    */drivers.test.ts|*/testing.test.ts|*/testing-reset.test.ts|*/testing-server.test.ts|*/migrator.test.ts) return 0 ;;
    */builtin.test.ts|*/timeouts.test.ts|*/no-transaction.test.ts|*/faults.test.ts|*/client-sessions.test.ts) return 0 ;;
    */server-settings.test.ts|*/pglite-lock.test.ts|*/sources.test.ts|*/formats.test.ts|*/examples.test.ts) return 0 ;;
    */resolve-db.test.ts|*/errors.test.ts) return 0 ;;
    *) return 1 ;;
  esac
}
once_from_bun() { ! every_runtime "$1"; }
others=()
for f in "${files[@]}"; do
  once_from_bun "$f" || others+=("$f")
done

# bun test runs its files one after another in one process: three processes at once, one with the CLI files (most
# of it cli.test.ts), two with the rest, every other file each. The files wait on servers, PGlite start-ups and
# subprocesses as much as they compute: two processes left a core idle a third of the time. An empty list must not
# reach bun test (it would run every file).
cli_files=()
rest_a=()
rest_b=()
for f in "${files[@]}"; do
  case $f in
    # package and registry both `npm pack` (prepack rebuilds dist/): one process, one after the other.
    */cli*.test.ts|*/package.test.ts|*/registry.test.ts|*/testing-examples.test.ts) cli_files+=("./$f") ;;
    *) if [ $(( (${#rest_a[@]} + ${#rest_b[@]}) % 2 )) -eq 0 ]; then rest_a+=("./$f"); else rest_b+=("./$f"); fi ;;
  esac
done
bun_shard() { # log files...
  local log=$1
  shift
  if [ $# -eq 0 ]; then : >"$log"; return 0; fi
  bun test --timeout 120000 "$@" >"$log" 2>&1
}

# One runtime's tests; its counts go to $work/<runtime>.counts ("status pass fail skip"), its output to the log.
run_runtime() { # runtime
  local runtime=$1 log="$work/$1.log" status p f s
  case $runtime in
    bun)
      # bun test prints " N pass", " N skip" and " N fail" lines at the end of each process. --timeout: bunfig's
      # [test] timeout does not reach node:test tests, whose limit is otherwise 5 s (a fresh PGlite can take longer).
      bun_shard "$work/bun-cli.log" "${cli_files[@]+"${cli_files[@]}"}" &
      local cli_pid=$!
      bun_shard "$work/bun-rest-a.log" "${rest_a[@]+"${rest_a[@]}"}" &
      local a_pid=$! shard_status
      status=0
      bun_shard "$work/bun-rest-b.log" "${rest_b[@]+"${rest_b[@]}"}" || status=$?
      for pid in "$a_pid" "$cli_pid"; do
        shard_status=0
        wait "$pid" || shard_status=$?
        [ "$shard_status" -gt "$status" ] && status=$shard_status
        # The rest is done: Deno and Node start while the CLI files finish.
        [ "$pid" = "$a_pid" ] && start_others
      done
      cat "$work/bun-cli.log" "$work/bun-rest-a.log" "$work/bun-rest-b.log" >"$log"
      pick() { # what, summed over the three processes
        local n=0 file v
        for file in "$work/bun-cli.log" "$work/bun-rest-a.log" "$work/bun-rest-b.log"; do
          v=$(grep -E "^ *[0-9]+ $1\$" "$file" | tail -1 | grep -oE '[0-9]+' || echo 0)
          n=$((n + v))
        done
        echo "$n"
      }
      echo "$status $(pick pass) $(pick fail) $(pick skip)" >"$work/bun.counts"
      ;;
    deno)
      # Deno counts a describe block as a test and its tests as steps: count the leaves of its JUnit report.
      # --parallel: one file per core at a time.
      deno test -A --parallel --junit-path="$work/deno.xml" "${others[@]}" >"$log" 2>&1
      status=$?
      read -r p f s < <(node scripts/junit-leaves.mjs "$work/deno.xml" 2>/dev/null || echo "0 0 0")
      echo "$status $p $f $s" >"$work/deno.counts"
      ;;
    node)
      # Node 20 cannot run .ts: tsx (a devDependency) loads it. The spec reporter ends with "ℹ pass N" lines.
      # --test-concurrency=2: one file per core at a time (Node's default leaves one core idle here).
      node --import tsx --test --test-concurrency=2 --test-reporter=spec "${others[@]}" >"$log" 2>&1
      status=$?
      pick() { grep -E "^ℹ $1 [0-9]+\$" "$log" | tail -1 | grep -oE '[0-9]+' || echo 0; }
      echo "$status $(pick pass) $(pick fail) $(pick skipped)" >"$work/node.counts"
      ;;
    *)
      echo "unknown runtime $runtime" >"$log"
      echo "1 0 1 0" >"$work/$runtime.counts"
      ;;
  esac
}

# Bun first; Deno and Node at once, as soon as Bun's non-CLI files are done (the CLI files take longest): their
# files wait on PostgreSQL, PGlite start-ups and subprocesses as much as they compute, so runners side by side
# finish well before runners in turn.
pids=()
others_started=0
start_others() {
  [ "$others_started" -eq 1 ] && return 0
  others_started=1
  local runtime
  for runtime in $runtimes; do
    [ "$runtime" = bun ] && continue
    if [ ${#others[@]} -eq 0 ]; then echo "0 0 0 0" >"$work/$runtime.counts"; : >"$work/$runtime.log"; continue; fi
    run_runtime "$runtime" &
    pids+=($!)
  done
}
case " $runtimes " in *" bun "*) run_runtime bun ;; esac
start_others
for pid in "${pids[@]+"${pids[@]}"}"; do wait "$pid"; done
for runtime in $runtimes; do
  echo "=== $runtime ==="
  cat "$work/$runtime.log" 2>/dev/null
  read -r status p f s <"$work/$runtime.counts"
  count "$runtime" "$status" "$p" "$f" "$s"
done

echo
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
