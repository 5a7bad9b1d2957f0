// postgrator on Node (it has no CLI of its own; postgrator-cli is a separate package):
// `node scripts/bench/run-postgrator.mjs URL DIR` migrates to the newest version with a `pg` client.
import pg from "pg";
import Postgrator from "postgrator";

const [url, dir] = process.argv.slice(2);
const client = new pg.Client({ connectionString: url });
await client.connect();
const started = performance.now();
const postgrator = new Postgrator({
  migrationPattern: `${dir}/*`,
  driver: "pg",
  database: new URL(url).pathname.slice(1),
  execQuery: (query) => client.query(query),
});
const applied = await postgrator.migrate();
const ms = performance.now() - started;
await client.end();
console.log(JSON.stringify({ ms, applied: applied.length }));
