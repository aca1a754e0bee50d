/**
 * The frame every `tsbpf` command runs in: the `Command` shape a command file exports, option
 * parsing (node:util `parseArgs`, strict), generated `--help`, global flags, JSON printing with
 * bpftool's conventions, and the mapping of failures to exit codes.
 *
 * Exit codes: 0 success, 1 the operation failed (one line on stderr naming command and cause;
 * `--debug` adds the stack), 2 bad usage (unknown command, option or argument).
 *
 * Output is written through `Context.out`/`Context.write`; the runner never calls
 * `process.exit`, so whatever a command printed reaches a slow pipe whole (see bin in main.ts).
 */
import { parseArgs } from "node:util";
import { isTsbpfError, isVerifierError } from "../errors.js";

/** One option of a command, as `parseArgs` takes it plus what `--help` shows. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
  /** Placeholder of the value in help ("FILE"); string options only. */
  readonly value?: string;
  readonly description: string;
}

/** Parsed option values: strings, booleans, or string lists for `multiple` options. */
export type OptionValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

/** What a command's `run` gets: its arguments, the global flags, and where to write. */
export interface Context {
  /** The command path, e.g. `["map", "dump"]`. */
  readonly path: readonly string[];
  /** Positional arguments after the command path. */
  readonly args: readonly string[];
  /** Parsed options declared by the command. */
  readonly options: OptionValues;
  /** `-j`/`--json` (or `-p`/`--pretty`, which implies it). */
  readonly json: boolean;
  /** `-p`/`--pretty`: indented JSON. */
  readonly pretty: boolean;
  /** `-d`/`--debug`: stack traces on failure, verbose logs. */
  readonly debug: boolean;
  /** Aborted on SIGINT/SIGTERM, for commands that wait (event_pipe, tracelog, profile). */
  readonly signal: AbortSignal;
  /** Write text as is. */
  write(text: string): void;
  /** Write one line (a newline is added). */
  out(line: string): void;
  /** Write a line to stderr (warnings; errors are thrown). */
  warn(line: string): void;
  /** Write a value as JSON (bigints as bare integers, like bpftool), indented under --pretty. */
  printJson(value: unknown): void;
}

/**
 * A command or a group of subcommands. A file in src/cli/ exports one (`export const command`)
 * and main.ts registers it with one line.
 */
export interface Command {
  /** One line for the parent's list ("list loaded programs"). */
  readonly summary: string;
  /** Positional arguments for the usage line ("<map> <key>"). */
  readonly args?: string;
  /** Paragraphs shown by `--help` after the usage line. */
  readonly description?: string;
  readonly options?: Readonly<Record<string, OptionSpec>>;
  /** Subcommands by name; a group with `run` too runs it when no subcommand is named. */
  readonly subcommands?: Readonly<Record<string, Command>>;
  /** Examples shown by `--help`. */
  readonly examples?: readonly string[];
  /** Runs the command; returns the exit code (default 0). Throw UsageError for bad usage. */
  run?(ctx: Context): number | void | Promise<number | void>;
  /** Take every argument as is (no option parsing): for commands that parse their own. */
  readonly rawArgs?: boolean;
}

/** A command written against the first interface (`run(args)` parsing its own options). */
export interface LegacyCommand {
  usage: string;
  summary: string;
  /**
   * The options its own parser takes, for `--help` only (the runner does not parse them): keep
   * in step with the parser; test/cli/help.test.ts checks each is listed.
   */
  options?: Readonly<Record<string, OptionSpec>>;
  /** Paragraphs shown by `--help` after the usage line. */
  description?: string;
  run(args: string[]): Promise<number> | number;
}

/** Wrap a `LegacyCommand` so the registry runs it (its own option parsing, its own help text). */
export function legacy(c: LegacyCommand): Command {
  return {
    summary: c.summary,
    args: c.usage.replace(/^\S+\s*/, ""),
    ...(c.options ? { options: c.options } : {}),
    ...(c.description ? { description: c.description } : {}),
    rawArgs: true,
    run: (ctx) => c.run([...ctx.args]),
  };
}

/** Bad usage: exit code 2, the message followed by the usage line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Where the runner writes. `process.stdout`/`process.stderr` in the binary, buffers in tests. */
export interface Io {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/** A lazily imported command in the registry. */
export interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

/** Options every command takes (bpftool's spellings). */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  json: { type: "boolean", short: "j", description: "print JSON (bpftool's field names where bpftool has the same fact)" },
  pretty: { type: "boolean", short: "p", description: "print indented JSON (implies --json)" },
  debug: { type: "boolean", short: "d", description: "show the stack trace of a failure" },
  help: { type: "boolean", short: "h", description: "show this help and exit 0" },
  version: { type: "boolean", short: "V", description: "print the version and exit 0" },
};

const GLOBAL_FLAGS = new Map<string, string>(
  Object.entries(GLOBAL_OPTIONS).flatMap(([name, o]) => [[`--${name}`, name], ...(o.short ? [[`-${o.short}`, name] as [string, string]] : [])]),
);

/** JSON text with bigints as bare integers (bpftool prints u64 as numbers). */
export function toJson(value: unknown, pretty = false): string {
  const marks: string[] = [];
  const text = JSON.stringify(
    value,
    (_k, v: unknown) => {
      if (typeof v === "bigint") {
        marks.push(v.toString());
        return `\u0000${marks.length - 1}`;
      }
      if (v instanceof Uint8Array) return Array.from(v, (b) => `0x${b.toString(16).padStart(2, "0")}`);
      return v;
    },
    pretty ? 4 : undefined,
  );
  return marks.length === 0 ? text : text.replace(/"\\u0000(\d+)"/g, (_m, i: string) => marks[Number(i)]);
}

function optionHelp(options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
    return [flag, o.description + (o.multiple ? " (repeatable)" : "")] as const;
  });
  const w = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, d]) => `  ${f.padEnd(w)}  ${d}`);
}

function usageLine(path: readonly string[], cmd: Command): string {
  const sub = cmd.subcommands ? (cmd.run ? " [<subcommand>]" : " <subcommand>") : "";
  const opts = cmd.options && Object.keys(cmd.options).length ? " [options]" : "";
  return `usage: tsbpf ${path.join(" ")}${sub}${cmd.args ? ` ${cmd.args}` : ""}${opts}`;
}

/** The `--help` text of a command. */
export function helpText(path: readonly string[], cmd: Command): string {
  const out = [usageLine(path, cmd), "", cmd.summary.charAt(0).toUpperCase() + cmd.summary.slice(1) + "."];
  if (cmd.description) out.push("", cmd.description.trim());
  if (cmd.subcommands) {
    const names = Object.keys(cmd.subcommands);
    const w = Math.max(...names.map((n) => n.length));
    out.push("", "subcommands:", ...names.map((n) => `  ${n.padEnd(w)}  ${cmd.subcommands![n].summary}`));
  }
  if (cmd.options && Object.keys(cmd.options).length) out.push("", "options:", ...optionHelp(cmd.options));
  out.push("", "global options:", ...optionHelp(GLOBAL_OPTIONS));
  if (cmd.examples?.length) out.push("", "examples:", ...cmd.examples.map((e) => `  ${e}`));
  return `${out.join("\n")}\n`;
}

/** The top-level `tsbpf --help`. */
export function rootHelp(registry: Readonly<Record<string, CommandEntry>>, version: string): string {
  const names = Object.keys(registry).sort();
  const w = Math.max(...names.map((n) => n.length));
  return [
    "usage: tsbpf <command> [<subcommand>] [args] [options]",
    "",
    `tsbpf ${version}: load, inspect and operate eBPF objects with a pure-TypeScript library.`,
    "",
    "commands:",
    ...names.map((n) => `  ${n.padEnd(w)}  ${registry[n].summary}`),
    "",
    "global options:",
    ...optionHelp(GLOBAL_OPTIONS),
    "",
    "exit codes: 0 success, 1 the operation failed, 2 bad usage.",
    "`tsbpf <command> --help` describes a command and its subcommands.",
    "",
  ].join("\n");
}

/** Pick a subcommand by its full name or a unique prefix (bpftool lets `prog sh` mean `prog show`). */
function findSub(subs: Readonly<Record<string, Command>>, word: string): [string, Command] | undefined {
  if (Object.prototype.hasOwnProperty.call(subs, word)) return [word, subs[word]];
  const hits = Object.keys(subs).filter((n) => n.startsWith(word));
  return hits.length === 1 ? [hits[0], subs[hits[0]]] : undefined;
}

interface Globals {
  json: boolean;
  pretty: boolean;
  debug: boolean;
  help: boolean;
  version: boolean;
}

/**
 * Take the global flags out of argv, wherever they are (before a `--`). Flags in `keep` belong
 * to the command (disasm's `-j` is llvm-objdump's section flag, not --json).
 */
export function splitGlobals(argv: readonly string[], keep: ReadonlySet<string> = new Set()): { globals: Globals; rest: string[] } {
  const globals: Globals = { json: false, pretty: false, debug: false, help: false, version: false };
  const rest: string[] = [];
  let literal = false;
  for (const a of argv) {
    const name = literal || keep.has(a) ? undefined : GLOBAL_FLAGS.get(a);
    if (a === "--") literal = true;
    if (name) globals[name as keyof Globals] = true;
    else rest.push(a);
  }
  if (globals.pretty) globals.json = true;
  return { globals, rest };
}

/** The first line of an error, the way a failure is reported. */
function oneLine(e: unknown): string {
  if (isVerifierError(e)) return e.message.split("\n")[0];
  if (e instanceof Error) return e.message.split("\n")[0];
  return String(e);
}

/**
 * Run `tsbpf` with these arguments against a registry; returns the exit code. Never exits
 * the process and never throws.
 */
export async function runCli(argv: readonly string[], registry: Readonly<Record<string, CommandEntry>>, io: Io, version: string): Promise<number> {
  const first = splitGlobals(argv);
  let globals = first.globals;
  const rest = first.rest;
  const path: string[] = [];
  const fail = (code: number, msg: string, e?: unknown): number => {
    io.stderr.write(`tsbpf${path.length ? ` ${path.join(" ")}` : ""}: ${msg}\n`);
    if (globals.debug && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return code;
  };
  if (globals.version) {
    io.stdout.write(globals.json ? `${toJson({ version, name: "tsbpf" }, globals.pretty)}\n` : `tsbpf v${version}\n`);
    return 0;
  }
  const [name, ...more] = rest;
  if (name === undefined) {
    if (globals.help) {
      io.stdout.write(rootHelp(registry, version));
      return 0;
    }
    io.stderr.write(rootHelp(registry, version));
    return 2;
  }
  const entry = Object.prototype.hasOwnProperty.call(registry, name) ? registry[name] : undefined;
  if (!entry) return fail(2, `unknown command "${name}" (commands: ${Object.keys(registry).sort().join(", ")})`);
  path.push(name);
  let cmd: Command;
  try {
    cmd = await entry.load();
  } catch (e) {
    return fail(1, oneLine(e), e);
  }
  let args = more;
  while (cmd.subcommands && args.length > 0 && !args[0].startsWith("-")) {
    const hit = findSub(cmd.subcommands, args[0]);
    if (!hit) {
      if (cmd.run) break;
      return fail(2, `unknown subcommand "${args[0]}" (subcommands: ${Object.keys(cmd.subcommands).join(", ")}; see tsbpf ${path.join(" ")} --help)`);
    }
    path.push(hit[0]);
    cmd = hit[1];
    args = args.slice(1);
  }
  // A command's own flag that looks like a global one is the command's.
  const own = new Set(Object.entries(cmd.options ?? {}).flatMap(([n, o]) => [`--${n}`, ...(o.short ? [`-${o.short}`] : [])]));
  if ([...own].some((f) => GLOBAL_FLAGS.has(f))) {
    const again = splitGlobals(argv, own);
    globals = again.globals;
    args = again.rest.slice(path.length); // the path words lead, as when they were found

  }
  // A command that parses its own options sees every flag but --help (its --json is its own).
  if (cmd.rawArgs) args = splitGlobals(argv, new Set([...GLOBAL_FLAGS.keys()].filter((f) => f !== "--help" && f !== "-h"))).rest.slice(path.length);
  if (globals.help) {
    io.stdout.write(helpText(path, cmd));
    return 0;
  }
  if (!cmd.run) {
    return fail(2, `missing subcommand (subcommands: ${Object.keys(cmd.subcommands ?? {}).join(", ")}; see tsbpf ${path.join(" ")} --help)`);
  }
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = cmd.rawArgs ? { values: {}, positionals: [...args] } : parseArgs({ args: [...args], options: (cmd.options ?? {}) as never, allowPositionals: true, strict: true }) as never;
  } catch (e) {
    return fail(2, `${(e as Error).message.replace(/\. To specify a positional.*$/s, "")} (${usageLine(path, cmd)})`);
  }
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let printed = false;
  const print = (t: string) => {
    printed = true;
    io.stdout.write(t);
  };
  const ctx: Context = {
    path,
    args: parsed.positionals,
    options: parsed.values,
    json: globals.json,
    pretty: globals.pretty,
    debug: globals.debug,
    signal: controller.signal,
    write: (t) => print(t),
    out: (l) => print(`${l}\n`),
    warn: (l) => void io.stderr.write(`${l}\n`),
    printJson: (v) => print(`${toJson(v, globals.pretty)}\n`),
  };
  try {
    const code = (await cmd.run(ctx)) ?? 0;
    // As bpftool -j: a command that succeeds without output (map update, prog pin…) prints
    // `null`, so whoever parses stdout as JSON always gets a document.
    if (globals.json && code === 0 && !printed && !cmd.rawArgs) print("null\n");
    return code;
  } catch (e) {
    if (e instanceof UsageError) return fail(2, `${e.message} (${usageLine(path, cmd)})`, e);
    // Expected failures (TsbpfError, file-system errors) and bugs alike print one line.
    const hint = isTsbpfError(e) || (e as { code?: unknown })?.code !== undefined || globals.debug ? "" : " (run with --debug for the stack trace)";
    return fail(1, oneLine(e) + hint, e);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** The n-th positional argument, or a UsageError naming it. */
export function arg(ctx: Context, index: number, name: string): string {
  const v = ctx.args[index];
  if (v === undefined) throw new UsageError(`missing ${name}`);
  return v;
}

/** Refuse positional arguments beyond `count`. */
export function noMoreArgs(ctx: Context, count: number): void {
  if (ctx.args.length > count) throw new UsageError(`unexpected argument "${ctx.args[count]}"`);
}

/** A string option's value, if given. */
export function str(ctx: Context, name: string): string | undefined {
  const v = ctx.options[name];
  return typeof v === "string" ? v : undefined;
}

/** A boolean option. */
export function flag(ctx: Context, name: string): boolean {
  return ctx.options[name] === true;
}

/** Rows as aligned columns, two spaces apart (the last column is not padded). */
export function table(rows: readonly (readonly string[])[]): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd());
}
