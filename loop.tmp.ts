import { createTestDatabase } from "./src/testing.ts";
const n = Number(process.argv[2] ?? 30);
const times: number[] = [];
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const s = performance.now();
  const db = await createTestDatabase();
  let w = performance.now() - s;
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM orchwf_workflow_instances");
  if (rows[0].n !== 0) throw new Error("not clean at " + i);
  await db.query("INSERT INTO orchwf_workflow_instances (id, workflow_id) VALUES ('w1', 'flow')");
  const c = performance.now();
  await db.close();
  times.push(w + performance.now() - c);
}
const later = times.slice(1).sort((a, b) => a - b);
console.log(JSON.stringify({ first: Math.round(times[0]), median: +later[later.length >> 1].toFixed(1), max: Math.round(later.at(-1)!), rssMB: Math.round(process.memoryUsage().rss / 1e6), total: Math.round(performance.now() - t0) }));
