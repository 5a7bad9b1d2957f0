/** Finds our CLI's builds, when they exist: the Node bundle (npm `bin`) and the `bun build --compile` binary. */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** Paths of our CLI's builds; undefined when not built (or not part of this checkout yet). */
export function ourCli(root: string): { node?: string; binary?: string } {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin?.["orchwf-migrate"];
  const node = bin && existsSync(join(root, bin)) ? join(root, bin) : undefined;
  let binary: string | undefined;
  const dist = join(root, "dist");
  if (existsSync(dist)) {
    for (const name of readdirSync(dist)) {
      const path = join(dist, name);
      const st = statSync(path);
      if (!st.isFile() || !(st.mode & 0o111) || /\.(m?js|cjs|map|ts)$/.test(name)) continue;
      const head = readFileSync(path).subarray(0, 4);
      if (head[0] === 0x7f && head.toString("latin1", 1, 4) === "ELF") binary = path;
    }
  }
  return { node, binary };
}
