#!/usr/bin/env node
// `orchwf-migrate` under its unscoped npm name: the CLI of @orchwf/migrate (same version, see scripts/build.ts).
import { runCli } from "@orchwf/migrate/cli";

await runCli();
