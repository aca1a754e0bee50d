/**
 * `tsbpf explain OBJ[:PROG] [--json]`: load each program of an object (or only PROG) and explain
 * every rejection: source line, what is wrong, what to change. `tsbpf explain --log FILE
 * [--object OBJ[:PROG]] [--json]`: explain a saved verifier log, with the object's line info
 * (file:line:column and source text) when the object is given. Exit 0 when every program loads
 * (or the log shows no error), 1 when a rejection was explained or not, 2 for bad usage.
 */
import { readFileSync } from "node:fs";
import { Collection } from "../collection/collection.js";
import { verifierSourceContext } from "../collection/verifier-context.js";
import { CollectionSpec } from "../elf/collection-spec.js";
import { isVerifierError, type VerifierContext, type VerifierError, type VerifierExplanation } from "../errors.js";
import { explainVerifierLog } from "../verifier/explain.js";
import "../verifier/install.js";
import { parseVerifierLog } from "../verifier/parse.js";
import type { LegacyCommand } from "./command.js";

const USAGE = "explain <object.o>[:PROGRAM] [--json] | explain --log FILE [--object <object.o>[:PROGRAM]] [--json]";

/** `path.o:prog` → path and program (a colon in the path itself is kept when no program follows). */
function splitTarget(arg: string): { file: string; program?: string } {
  const m = /^(.*\.o):([A-Za-z_][\w.]*)$/.exec(arg);
  return m ? { file: m[1], program: m[2] } : { file: arg };
}

function contextFromObject(spec: CollectionSpec, program: string): VerifierContext {
  const p = spec.programs[program];
  if (!p) throw new TypeError(`no program "${program}" in the object (programs: ${Object.keys(spec.programs).join(", ")})`);
  return {
    programType: p.type,
    license: p.license ?? spec.license,
    instructions: p.instructions,
    ...verifierSourceContext(p, spec.btf),
  };
}

function printText(program: string | undefined, error: string | undefined, x: VerifierExplanation | undefined, tail: readonly string[]): void {
  const who = program ? `program "${program}"` : "log";
  if (!x) {
    console.log(`${who}: rejected, and the error is not in tsbpf's catalogue${error ? `: ${error}` : ""}`);
    for (const l of tail) console.log(`  ${l}`);
    return;
  }
  const where = x.source?.file !== undefined && x.source.line !== undefined
    ? `${x.source.file}:${x.source.line}${x.source.column ? `:${x.source.column}` : ""}`
    : x.instruction ? `instruction ${x.instruction.index}` : "";
  console.log(`${where ? `${where}: ` : ""}${who}: ${x.title} [${x.category}]`);
  if (x.source?.text) console.log(`    | ${x.source.text}`);
  console.log(`  cause: ${x.cause}`);
  console.log(`  fix: ${x.fix}`);
  if (x.instruction?.text !== undefined) {
    const regs = x.registers ? Object.entries(x.registers).map(([k, v]) => `${k}=${v}`).join(" ") : "";
    console.log(`  instruction ${x.instruction.index}: ${x.instruction.text}${regs ? `  (${regs})` : ""}`);
  }
  console.log(`  verifier: ${x.error}`);
}

function explainLog(args: { log: string; object?: string; json: boolean }): number {
  const text = readFileSync(args.log, "utf8");
  let context: VerifierContext = {};
  let program: string | undefined;
  if (args.object) {
    const t = splitTarget(args.object);
    const spec = CollectionSpec.fromFile(t.file);
    program = t.program ?? (Object.keys(spec.programs).length === 1 ? Object.keys(spec.programs)[0] : undefined);
    if (!program) {
      console.error(`tsbpf explain: ${t.file} has ${Object.keys(spec.programs).length} programs: name the one the log is of (${t.file}:PROGRAM)`);
      return 2;
    }
    context = contextFromObject(spec, program);
  }
  const parsed = parseVerifierLog(text);
  const x = explainVerifierLog(parsed, context);
  if (args.json) console.log(JSON.stringify({ program, error: parsed.error, explanation: x ?? null, stats: parsed.stats ?? null }, null, 2));
  else if (parsed.errorLines.length === 0) console.log(`${args.log}: the log shows no error`);
  else printText(program, parsed.error, x, parsed.lines.slice(-5));
  return parsed.errorLines.length === 0 ? 0 : 1;
}

function explainObject(target: string, json: boolean): number {
  const t = splitTarget(target);
  const spec = CollectionSpec.fromFile(t.file);
  const names = t.program ? [t.program] : spec.autoloadPrograms;
  if (t.program && !spec.programs[t.program]) {
    console.error(`tsbpf explain: no program "${t.program}" in ${t.file} (programs: ${Object.keys(spec.programs).join(", ")})`);
    return 2;
  }
  const results: { program: string; loaded: boolean; error?: string; explanation?: VerifierExplanation | null }[] = [];
  for (const name of names) {
    let error: VerifierError | undefined;
    try {
      Collection.load(spec, { programs: [name] }).close();
    } catch (e) {
      const v = isVerifierError(e) ? e : isVerifierError((e as Error)?.cause) ? ((e as Error).cause as VerifierError) : undefined;
      if (!v) throw e;
      error = v;
    }
    if (!error) {
      results.push({ program: name, loaded: true });
      if (!json) console.log(`program "${name}": accepted by the verifier`);
      continue;
    }
    const x = error.explanation;
    const parsed = parseVerifierLog(error.log);
    results.push({ program: name, loaded: false, error: parsed.error, explanation: x ?? null });
    if (!json) printText(name, parsed.error, x, error.log.slice(-5));
  }
  if (json) console.log(JSON.stringify(results, null, 2));
  return results.every((r) => r.loaded) ? 0 : 1;
}

export const command: LegacyCommand = {
  usage: USAGE,
  summary: "load a BPF object and explain each verifier rejection (or explain a saved log): source line, cause, fix",
  description: "Exit 0 when every program loads (or the log shows no error), 1 when a rejection was found.",
  options: {
    log: { type: "string", value: "FILE", description: "explain this saved verifier log instead of loading" },
    object: { type: "string", value: "OBJ[:PROG]", description: "with --log: the object whose line info names source lines" },
    json: { type: "boolean", short: "j", description: "print the explanations as JSON" },
    pretty: { type: "boolean", short: "p", description: "the same as --json (its JSON is always indented)" },
  },
  run(args: string[]): number {
    let log: string | undefined;
    let object: string | undefined;
    let json = false;
    const rest: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === "--log" || a === "--object") {
        const v = args[++i];
        if (!v) {
          console.error(`tsbpf explain: ${a} needs a value\nusage: tsbpf ${USAGE}`);
          return 2;
        }
        if (a === "--log") log = v;
        else object = v;
      } else if (a === "--json" || a === "-j" || a === "--pretty" || a === "-p") json = true; // its JSON is always indented
      else if (a.startsWith("-")) {
        console.error(`tsbpf explain: unknown option ${a}\nusage: tsbpf ${USAGE}`);
        return 2;
      } else rest.push(a);
    }
    if (log !== undefined) {
      if (rest.length > 0) {
        console.error(`usage: tsbpf ${USAGE}`);
        return 2;
      }
      return explainLog({ log, object, json });
    }
    if (rest.length !== 1 || object !== undefined) {
      console.error(`usage: tsbpf ${USAGE}`);
      return 2;
    }
    return explainObject(rest[0], json);
  },
};
