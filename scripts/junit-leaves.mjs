// Prints "passed failed skipped" for the leaf test cases of a JUnit XML report (used by scripts/test.sh for
// Deno, which reports a describe block as a test and its tests as steps; only the steps are counted then).
import { readFileSync } from "node:fs";

const xml = readFileSync(process.argv[2], "utf8");
const cases = [...xml.matchAll(/<testcase name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)].map((m) => ({
  name: m[1],
  body: m[3] ?? "",
}));
const names = cases.map((c) => c.name);
let passed = 0;
let failed = 0;
let skipped = 0;
for (const c of cases) {
  if (names.some((n) => n.startsWith(`${c.name} &gt; `))) continue; // a describe block, not a test
  if (/<(failure|error)\b/.test(c.body)) failed++;
  else if (/<skipped\b/.test(c.body)) skipped++;
  else passed++;
}
console.log(`${passed} ${failed} ${skipped}`);
