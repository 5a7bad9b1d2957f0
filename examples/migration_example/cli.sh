#!/usr/bin/env bash
# The orchwf-migrate CLI from a shell, as a deploy step or a container entrypoint calls it.
# Installed from npm it is `npx orchwf-migrate …` / `bunx orchwf-migrate …`; in this repository the package's
# main module is the CLI: `bun src/mod.ts …` or `deno run -A src/mod.ts …` (ORCHWF_RUNTIME=bun|deno|node picks).
# The database: ORCHWF_DB_URL when set (postgres://…), else a PGlite directory made for this run.
# Run: bash examples/migration_example/cli.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"

case "${ORCHWF_RUNTIME:-bun}" in
  bun) cli=(bun src/mod.ts) ;;
  deno) cli=(deno run -A src/mod.ts) ;;
  node) # the npm bin; a fresh clone has not built it yet (npm pack builds it, npm ci does not)
    [ -f dist/orchwf-migrate.js ] || bun scripts/build.ts node >/dev/null
    cli=(node dist/orchwf-migrate.js) ;;
  *) echo "ORCHWF_RUNTIME must be bun, deno or node" >&2; exit 2 ;;
esac
if [ -n "${ORCHWF_DB_URL:-}" ]; then
  db=$ORCHWF_DB_URL
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  db="pglite:$tmp/pgdata"
fi
# --dir replaces the built-in migrations, so the application's own get their own version table.
app=(--dir examples/migration_example/migrations --table app_migrations)

step() { printf '\n$ orchwf-migrate %s\n' "$*"; }

step up
"${cli[@]}" up --db "$db"

step status
"${cli[@]}" status --db "$db"

step up "${app[@]}" --dry-run
"${cli[@]}" up --db "$db" "${app[@]}" --dry-run

step up "${app[@]}"
"${cli[@]}" up --db "$db" "${app[@]}"

step down "${app[@]}"
"${cli[@]}" down --db "$db" "${app[@]}"

# Exit code 3 means "migrations are pending": a readiness check or a CI gate can test for it.
step status "${app[@]}" --exit-code
code=0
"${cli[@]}" status --db "$db" "${app[@]}" --exit-code || code=$?
echo "exit code: $code (3 = pending)"

step status "${app[@]}" --json
"${cli[@]}" status --db "$db" "${app[@]}" --json
