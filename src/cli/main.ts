#!/usr/bin/env node
/**
 * The `tsbpf` command line. Each command lives in its own file in src/cli/, exports
 * `command: Command` (see command.ts), and is registered below with ONE line:
 *
 *   name: { summary: "what it does, lowercase", load: () => import("./name.js").then((m) => m.command) },
 *
 * Commands load lazily, so `tsbpf --help` never imports koffi or a big module.
 * Exit codes: 0 success, 1 the operation failed, 2 bad usage (see docs/cli.md).
 */
import { readFileSync, realpathSync } from "node:fs";
import module from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { legacy, runCli, type CommandEntry, type Io } from "./command.js";

/** Every `tsbpf` command, by name. */
export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  bench: { summary: "benchmark a program with BPF_PROG_TEST_RUN against packets, a capture or a baseline", load: () => import("./bench.js").then((m) => legacy(m.command)) },
  btf: { summary: "list, show and dump BTF objects (vmlinux.h with --format c)", load: () => import("./btf.js").then((m) => m.command) },
  cgroup: { summary: "show, attach and detach cgroup programs", load: () => import("./cgroup.js").then((m) => m.command) },
  disasm: { summary: "disassemble a BPF object as llvm-objdump -d does", load: () => import("./disasm.js").then((m) => m.command) },
  explain: { summary: "load a BPF object and explain each verifier rejection (or a saved log): source line, cause, fix", load: () => import("./explain.js").then((m) => legacy(m.command)) },
  feature: { summary: "probe what the running kernel supports (bpftool feature probe's answers and JSON keys)", load: () => import("./feature.js").then((m) => legacy(m.command)) },
  gen: { summary: "write typed TypeScript bindings for a BPF object (bpf2go / skeleton role)", load: () => import("./gen.js").then((m) => legacy(m.command)) },
  inspect: { summary: "show what a BPF object holds (no kernel needed)", load: () => import("./inspect.js").then((m) => m.command) },
  link: { summary: "list, show, pin and detach links", load: () => import("./link.js").then((m) => m.command) },
  load: { summary: "load (and pin) every map and program of a BPF object", load: () => import("./load.js").then((m) => m.command) },
  map: { summary: "list, dump, look up and change maps, read ring buffers", load: () => import("./map.js").then((m) => m.command) },
  net: { summary: "list, attach and detach XDP, tcx and tc programs of interfaces", load: () => import("./net.js").then((m) => m.command) },
  prog: { summary: "list, show, dump, run, profile and pin loaded programs", load: () => import("./prog.js").then((m) => m.command) },
  struct_ops: { summary: "list, register and unregister struct_ops maps", load: () => import("./struct-ops.js").then((m) => m.command) },
};

/**
 * This file's path. The bin is the CommonJS build (tsup.config.ts: it starts ~6 ms sooner than
 * ESM), where `import.meta` is empty; the sources run as ESM.
 */
const thisFile = typeof __filename === "string" ? __filename : fileURLToPath(import.meta.url);

/** The package version (from package.json). */
export function version(): string {
  // The built bin's own package first (dist/cli.cjs): from there "../../package.json" is
  // whatever lies above the installed package. From the sources, src/package.json is absent.
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      return (JSON.parse(readFileSync(join(dirname(thisFile), rel), "utf8")) as { version: string }).version;
    } catch {
      // try the next layout (sources vs dist/)
    }
  }
  return "unknown";
}

/** Run `tsbpf` in this process with these arguments; resolves to the exit code. */
export function main(argv: readonly string[], io: Io = process): Promise<number> {
  return runCli(argv, COMMANDS, io, version());
}

function isEntry(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(thisFile);
  } catch {
    return false;
  }
}

if (isEntry()) {
  // V8's compile cache (Node >= 22.1): the command modules, imported lazily after this, are
  // compiled once and read back on later runs, most of a short command's start-up. Only when
  // run as `tsbpf` (a test importing COMMANDS does not get it); a no-op on Node 20.
  (module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  // A reader that went away (`tsbpf ... | head`) is not a failure of ours: stop writing quietly.
  for (const s of [process.stdout, process.stderr]) s.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
  });
  // Never process.exit(): it would drop what a slow pipe has not taken yet. Node exits by
  // itself once stdout has drained and nothing else is pending.
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
