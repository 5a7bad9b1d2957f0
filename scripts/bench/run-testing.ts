/**
 * The testing helper: `bun scripts/bench/run-testing.ts [K]`. One cold `createTestDatabase()` (initdb, migrate,
 * snapshot), then K restored ones (default 5); prints the cold time and the median restored time.
 */
const K = Number(process.argv[2] ?? 5);
// A path in a variable: this runner exists before src/testing.ts does on every branch.
const modulePath = "../../src/testing.ts";
const { createTestDatabase } = await import(modulePath) as {
  createTestDatabase(): Promise<{ query(sql: string): Promise<unknown>; close(): Promise<void> }>;
};
const t0 = performance.now();
const first = await createTestDatabase();
const coldMs = performance.now() - t0;
await first.close();
const restored: number[] = [];
for (let i = 0; i < K; i++) {
  const t = performance.now();
  const db = await createTestDatabase();
  await db.query("SELECT count(*) FROM orchwf_workflow_instances");
  restored.push(performance.now() - t);
  await db.close();
}
restored.sort((a, b) => a - b);
const median = restored[restored.length >> 1];
console.log(JSON.stringify({ ms: median, coldMs, restoredMs: median }));
