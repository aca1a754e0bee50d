// npm run example -- <name> [args]: runs examples/<name>/<name>.ts with the remaining arguments.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const [name, ...args] = process.argv.slice(2);
const file = fileURLToPath(new URL(`./${name}/${name}.ts`, import.meta.url));
if (name === undefined || !existsSync(file)) {
  console.error(`usage: npm run example -- <name> [args]  (no example "${name ?? ""}")`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ["--import", "tsx", file, ...args], { stdio: "inherit" });
process.exitCode = r.status ?? 1;
