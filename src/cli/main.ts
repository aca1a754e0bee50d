#!/usr/bin/env node
/**
 * The `tsbpf` command line. Each subcommand lives in its own file in src/cli/ and registers
 * itself in COMMANDS below.
 */
import { isTsbpfError } from "../errors.js";
import type { Command } from "./command.js";

const COMMANDS: Record<string, () => Promise<Command>> = {
  bench: () => import("./bench.js").then((m) => m.command),
  btf: () => import("./btf.js").then((m) => m.command),
  disasm: () => import("./disasm.js").then((m) => m.command),
  gen: () => import("./gen.js").then((m) => m.command),
  inspect: () => import("./inspect.js").then((m) => m.command),
  load: () => import("./load.js").then((m) => m.command),
  link: () => import("./link.js").then((m) => m.command),
  map: () => import("./map.js").then((m) => m.command),
};

function usage(): string {
  return ["usage: tsbpf <command> [args]", "", "commands:", ...Object.keys(COMMANDS).sort().map((c) => `  ${c}`)].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === "--help" || name === "-h") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`tsbpf: unknown command "${name}"\n${usage()}`);
    return 2;
  }
  const cmd = await load();
  try {
    return await cmd.run(args);
  } catch (e) {
    // Expected failures print one line, no stack trace.
    if (isTsbpfError(e)) {
      console.error(`tsbpf ${name}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
