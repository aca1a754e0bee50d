// npm run example -- <name> [args]: runs examples/<name>/<name>.ts with the remaining arguments.
import { existsSync } from "node:fs";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const [name, ...args] = process.argv.slice(2);
const file = fileURLToPath(new URL(`./${name}/${name}.ts`, import.meta.url));
if (name === undefined || !existsSync(file)) {
  console.error(`usage: npm run example -- <name> [args]  (no example "${name ?? ""}")`);
  process.exit(2);
}
const child = spawn(process.execPath, ["--import", "tsx", file, ...args], { stdio: "inherit" });
// The example stops itself on SIGINT/SIGTERM and cleans up what it made (netns, pins, links):
// this runner must outlive it, so it passes the signal on (a terminal's Ctrl-C already reached
// the child through the process group; a second delivery is harmless) and waits for its exit.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => {
  process.exitCode = code ?? (signal ? 128 : 1);
});
