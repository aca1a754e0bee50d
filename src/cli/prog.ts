/**
 * `tsbpf prog`: loaded programs, like `bpftool prog` — list, show (by id, name, tag or pin),
 * dump xlated/jited with source lines from the program's BTF, run (BPF_PROG_TEST_RUN), profile
 * (run count and time with BPF_ENABLE_STATS over a window), pin, and tracelog (trace_pipe).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { formatInstruction } from "../asm/format.js";
import { encodeInstructions, instructionSlots } from "../asm/encoding.js";
import type { BtfSpec } from "../btf/spec.js";
import { TsbpfError } from "../errors.js";
import type { ProgramInfo } from "../program/info.js";
import type { KernelLineInfo, ProgramDebugInfo } from "../program/line-info.js";
import { decodeX86, formatX86Line, type X86Instruction } from "../asm/x86/decode.js";
import { Program } from "../program/program.js";
import { Btf } from "../map/btf.js";
import { readTracePipe } from "../trace/trace-pipe.js";
import { arg, flag, noMoreArgs, str, UsageError, type Command, type Context } from "./command.js";
import { programJson } from "./json-names.js";

const KERNEL_NAME_MAX = 15;

/** Parse bytes given as hex ("01 02", "0x0102", "01:02"). */
export function parseHex(text: string, what: string): Uint8Array {
  const clean = text.replace(/0x/gi, "").replace(/[\s:,]/g, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new UsageError(`${what}: "${text}" is not hex bytes`);
  return Uint8Array.from(Buffer.from(clean, "hex"));
}

const btfCache = new Map<number, BtfSpec | null>();
/** The parsed BTF object `id`, or undefined when it cannot be read. */
export function btfById(id: number): BtfSpec | undefined {
  if (!id) return undefined;
  if (!btfCache.has(id)) {
    try {
      using b = Btf.fromId(id);
      btfCache.set(id, b.spec());
    } catch {
      btfCache.set(id, null);
    }
  }
  return btfCache.get(id) ?? undefined;
}

/**
 * The program's full name: the kernel keeps 15 bytes, so a longer name is read from the BTF
 * FUNC of its first func info record (bpftool does the same).
 */
export function fullName(p: Program, info: ProgramInfo): string {
  if (info.name.length < KERNEL_NAME_MAX || !info.btfId) return info.name;
  try {
    const first = p.debugInfo().funcInfo[0];
    const btf = btfById(info.btfId);
    const name = first && btf ? btf.typeById(first.typeId).name : "";
    return name.startsWith(info.name) ? name : info.name;
  } catch {
    return info.name;
  }
}

interface Found {
  prog: Program;
  info: ProgramInfo;
  fullName: string;
}

/** Open the programs a PROG argument names: `<id>`, `id <id>`, `tag <tag>`, `name <name>`, `pinned <path>` or a path. */
function findPrograms(ctx: Context, from = 0): { found: Found[]; used: number } {
  const a = arg(ctx, from, "<prog> (an id, id N, name NAME, tag TAG, pinned PATH or a bpffs path)");
  const open = (p: Program): Found => {
    const info = p.info();
    return { prog: p, info, fullName: fullName(p, info) };
  };
  if (/^\d+$/.test(a)) return { found: [open(Program.fromId(Number(a)))], used: 1 };
  if (a.startsWith("/")) return { found: [open(Program.open(a))], used: 1 };
  const v = arg(ctx, from + 1, `the ${a} of the program`);
  switch (a) {
    case "id":
      if (!/^\d+$/.test(v)) throw new UsageError(`"${v}" is not a program id`);
      return { found: [open(Program.fromId(Number(v)))], used: 2 };
    case "pinned":
      return { found: [open(Program.open(v))], used: 2 };
    case "tag":
    case "name": {
      const found: Found[] = [];
      for (const info of Program.list()) {
        if (a === "tag" ? info.tag !== v.toLowerCase() : !(info.name === v || (info.name.length >= KERNEL_NAME_MAX && v.startsWith(info.name)))) continue;
        try {
          const f = open(Program.fromId(info.id));
          if (a === "name" && f.fullName !== v && info.name !== v) {
            f.prog.close();
            continue;
          }
          found.push(f);
        } catch {
          // unloaded since the listing
        }
      }
      if (found.length === 0) throw new TsbpfError(`no program has ${a} "${v}"`);
      return { found, used: 2 };
    }
    default:
      throw new UsageError(`"${a}" is not a program: give an id, id N, name NAME, tag TAG, pinned PATH or a bpffs path`);
  }
}

/** Exactly one program (refuses a name or tag that several programs share). */
function oneProgram(ctx: Context, from = 0): { f: Found; used: number } {
  const { found, used } = findPrograms(ctx, from);
  if (found.length > 1) {
    for (const f of found) f.prog.close();
    throw new TsbpfError(`${found.length} programs match (ids ${found.map((f) => f.info.id).join(", ")}): name one by id`);
  }
  return { f: found[0], used };
}

function text(i: ProgramInfo, full: string): string[] {
  const name = full !== i.name ? `  name ${full}` : i.name ? `  name ${i.name}` : "";
  const lines = [`${i.id}: ${i.type}${name}  tag ${i.tag}${i.gplCompatible ? "  gpl" : ""}${i.runCount ? `  run_time_ns ${i.runTimeNs} run_cnt ${i.runCount}` : ""}`];
  lines.push(`\tloaded_at ${i.loadTimeNs}ns after boot  uid ${i.createdByUid}`);
  lines.push(`\txlated ${i.translatedSize}B  ${i.jitedSize ? `jited ${i.jitedSize}B` : "not jited"}${i.mapIds.length ? `  map_ids ${i.mapIds.join(",")}` : ""}`);
  if (i.btfId) lines.push(`\tbtf_id ${i.btfId}`);
  return lines;
}

function print(ctx: Context, list: { info: ProgramInfo; fullName: string }[], single: boolean): void {
  if (ctx.json) {
    const rows = list.map((f) => programJson(f.info, { fullName: f.fullName }));
    ctx.printJson(single && rows.length === 1 ? rows[0] : rows);
  } else for (const f of list) for (const l of text(f.info, f.fullName)) ctx.out(l);
}

const list: Command = {
  summary: "list every loaded program",
  run(ctx) {
    noMoreArgs(ctx, 0);
    const rows: { info: ProgramInfo; fullName: string }[] = [];
    for (const info of Program.list()) {
      let full = info.name;
      if (info.name.length >= KERNEL_NAME_MAX) {
        try {
          using p = Program.fromId(info.id);
          full = fullName(p, info);
        } catch {
          // gone since the listing
        }
      }
      rows.push({ info, fullName: full });
    }
    print(ctx, rows, false);
  },
};

const show: Command = {
  summary: "show programs by id, name, tag or pin (all without an argument)",
  args: "[<id> | id <id> | name <name> | tag <tag> | pinned <path> | <path>]",
  description: "A name matches the kernel's 15-byte name or the full name from BTF; it may match several programs.",
  run(ctx) {
    if (ctx.args.length === 0) return list.run!(ctx);
    const { found, used } = findPrograms(ctx);
    try {
      noMoreArgs(ctx, used);
      print(ctx, found, /^\d+$|^\//.test(ctx.args[0]) || ctx.args[0] === "id" || ctx.args[0] === "pinned");
    } finally {
      for (const f of found) f.prog.close();
    }
  },
};

/** The source line of each translated slot that starts one, from the program's BTF. */
function sourceLines(p: Program, btfId: number): Map<number, string> {
  const out = new Map<number, string>();
  const btf = btfById(btfId);
  if (!btf) return out;
  const fmt = (l: KernelLineInfo) => {
    const file = safeString(btf, l.fileNameOff);
    const text = safeString(btf, l.lineOff).trim();
    return `; ${text}${file ? ` [${file.split("/").pop()}:${l.line}${l.column ? `:${l.column}` : ""}]` : ""}`;
  };
  for (const l of p.debugInfo().lineInfo) out.set(l.insnOff, fmt(l));
  return out;
}

function safeString(btf: BtfSpec, off: number): string {
  try {
    return btf.string(off);
  } catch {
    return "";
  }
}

const xlated: Command = {
  summary: "print the instructions as the verifier rewrote them, with source lines from BTF",
  args: "<prog>",
  options: {
    "no-source": { type: "boolean", description: "leave out the source lines" },
    file: { type: "string", value: "FILE", description: "write the raw instructions (8 bytes each) to FILE instead" },
  },
  run(ctx) {
    const { f, used } = oneProgram(ctx);
    using p = f.prog;
    noMoreArgs(ctx, used);
    const file = str(ctx, "file");
    const insns = p.translatedInstructions();
    if (insns.length === 0) throw new TsbpfError(`program ${f.info.id}: the kernel hides its instructions from this process (needs CAP_SYS_ADMIN)`);
    if (file) {
      writeFileSync(file, encodeInstructions(insns));
      return;
    }
    const lines = flag(ctx, "no-source") ? new Map<number, string>() : sourceLines(p, f.info.btfId);
    const rows: { slot: number; text: string; source?: string }[] = [];
    let slot = 0;
    for (const insn of insns) {
      rows.push({ slot, text: formatInstruction(insn, { dialect: "tsbpf" }), ...(lines.has(slot) ? { source: lines.get(slot)!.slice(2) } : {}) });
      slot += instructionSlots(insn);
    }
    if (ctx.json) {
      // bpftool's fields ("src", "disasm"), plus the slot number.
      ctx.printJson(rows.map((r) => ({ ...(r.source !== undefined ? { src: r.source.replace(/ \[[^\]]*\]$/, "") } : {}), disasm: r.text, pc: r.slot })));
      return;
    }
    const out: string[] = [];
    for (const r of rows) {
      if (r.source !== undefined) out.push(`; ${r.source}`);
      out.push(`${String(r.slot).padStart(5)}: ${r.text}`);
    }
    ctx.write(`${out.join("\n")}\n`);
  },
};

/** One JIT'd function of a program: where its code is in the image and what it is called. */
interface JitedFunction {
  name: string;
  start: number;
  length: number;
  /** Its kernel address (0 when the kernel hides addresses). */
  ksym: bigint;
}

function jitedFunctions(d: ProgramDebugInfo, btf: BtfSpec | undefined, mainName: string): JitedFunction[] {
  const lengths = d.jitedFunctionLengths.length ? d.jitedFunctionLengths : [d.jitedCode.length];
  let start = 0;
  return lengths.map((length, i) => {
    const typeId = d.funcInfo[i]?.typeId;
    let name = i === 0 ? mainName : `func_${i}`;
    if (typeId && btf) name = safeName(btf, typeId) || name;
    const f = { name, start, length, ksym: d.jitedFunctionAddresses[i] ?? 0n };
    start += length;
    return f;
  });
}

function safeName(btf: BtfSpec, typeId: number): string {
  try {
    return btf.typeById(typeId).name;
  } catch {
    return "";
  }
}

/** Source line text per offset into the JIT'd image, from the kernel's JIT'd line info. */
function jitedSourceLines(d: ProgramDebugInfo, funcs: readonly JitedFunction[], btf: BtfSpec | undefined): Map<number, string> {
  const out = new Map<number, string>();
  if (!btf) return out;
  d.jitedLineAddresses.forEach((addr, i) => {
    // The function whose ksym is the highest one not above the address.
    let best = -1;
    funcs.forEach((f, fi) => {
      if (f.ksym <= addr && (best < 0 || f.ksym >= funcs[best].ksym)) best = fi;
    });
    if (best < 0) return;
    const off = funcs[best].start + Number(addr - funcs[best].ksym);
    const line = d.lineInfo[i];
    if (off < 0 || off > d.jitedCode.length || !line || out.has(off)) return;
    out.set(off, `${safeString(btf, line.lineOff).trim()} [${safeString(btf, line.fileNameOff).split("/").pop()}:${line.line}]`);
  });
  return out;
}

/** bpftool's JSON of one instruction: "operation" is the first word, "operands" the rest split at spaces, commas and parentheses. */
function bpftoolOperation(insn: X86Instruction): { operation: string; operands: (string | null)[] } {
  const text = `${insn.prefix !== undefined ? `${insn.prefix}\t\t` : ""}${insn.mnemonic}\t${insn.operands}`;
  const [operation, ...rest] = text.split(/[ \t]+/);
  const operands = rest.join(" ").split(/[ \t,()]+/).filter((x) => x !== "");
  return { operation, operands: operands.length ? operands : [null] };
}

const jited: Command = {
  summary: "print the JIT'd machine code as x86-64 assembly (llvm-objdump's AT&T syntax), with source lines",
  args: "<prog>",
  description:
    "Each function's instructions as `llvm-objdump -d --no-show-raw-insn` prints them, offsets from the\nfunction's start, each source line (the kernel's JIT'd line info and the program's BTF) above the\ninstructions it compiled to. Jumps and calls into the program name their target (<func+0x1c>).\nOn a machine that is not x86-64, or with --hex, the bytes are printed in hex instead.",
  options: {
    "no-source": { type: "boolean", description: "leave out the source lines" },
    opcodes: { type: "boolean", description: "also print each instruction's bytes" },
    hex: { type: "boolean", description: "print the bytes in hex, grouped by source line, instead of instructions" },
    file: { type: "string", value: "FILE", description: "write the raw machine code to FILE instead" },
  },
  run(ctx) {
    const { f, used } = oneProgram(ctx);
    using p = f.prog;
    noMoreArgs(ctx, used);
    const d = p.debugInfo();
    if (d.jitedCode.length === 0) throw new TsbpfError(`program ${f.info.id}: no JIT'd code to show (not JIT'd, or kernel addresses are hidden)`);
    const file = str(ctx, "file");
    if (file) {
      writeFileSync(file, d.jitedCode);
      return;
    }
    const btf = btfById(f.info.btfId);
    const funcs = jitedFunctions(d, btf, fullName(p, f.info));
    const lines = flag(ctx, "no-source") ? new Map<number, string>() : jitedSourceLines(d, funcs, btf);
    if (flag(ctx, "hex") || process.arch !== "x64") {
      printHex(ctx, d.jitedCode, lines);
      return;
    }
    const opcodes = flag(ctx, "opcodes");
    // A target inside the program, as `<func+0xoff>`.
    const where = (t: bigint): string | undefined => {
      for (const fn of funcs) if (fn.ksym !== 0n && t >= fn.ksym && t < fn.ksym + BigInt(fn.length)) return `<${fn.name}+0x${(t - fn.ksym).toString(16)}>`;
      return undefined;
    };
    const perFunc = funcs.map((fn) => {
      const code = d.jitedCode.subarray(fn.start, fn.start + fn.length);
      return { fn, code, insns: decodeX86(code, { address: fn.ksym }) };
    });
    if (ctx.json) {
      // bpftool's shape: one array of instructions, or {name, insns} per function when there are several.
      const rows = perFunc.map(({ fn, code, insns }) =>
        insns.map((i) => {
          const src = lines.get(fn.start + i.offset);
          return {
            ...(src !== undefined ? { src: src.replace(/ \[[^\]]*\]$/, "") } : {}),
            pc: `0x${i.offset.toString(16)}`,
            ...bpftoolOperation(i),
            ...(opcodes ? { opcodes: [...code.subarray(i.offset, i.offset + i.length)].map((b) => `0x${b.toString(16).padStart(2, "0")}`) } : {}),
          };
        }),
      );
      ctx.printJson(funcs.length === 1 ? rows[0] : perFunc.map(({ fn }, i) => ({ name: fn.name, insns: rows[i] })));
      return;
    }
    const out: string[] = [];
    for (const { fn, code, insns } of perFunc) {
      if (funcs.length > 1) out.push(`${out.length ? "\n" : ""}${fn.name}:`);
      for (const i of insns) {
        const src = lines.get(fn.start + i.offset);
        if (src !== undefined) out.push(`; ${src}`);
        const note = i.target !== undefined ? where(i.target) : undefined;
        out.push(`${formatX86Line(i)}${note ? ` ${note}` : ""}`);
        if (opcodes) out.push(`\t${[...code.subarray(i.offset, i.offset + i.length)].map((b) => b.toString(16).padStart(2, "0")).join(" ")}`);
      }
    }
    ctx.write(`${out.join("\n")}\n`);
  },
};

/** The image in hex, 16 bytes a line, each source line above the bytes it compiled to. */
function printHex(ctx: Context, code: Uint8Array, lines: Map<number, string>): void {
  const marks = [...lines.keys()].sort((a, b) => a - b);
  if (marks[0] !== 0) marks.unshift(0);
  const rows = marks.map((off, i) => {
    const end = i + 1 < marks.length ? marks[i + 1] : code.length;
    const src = lines.get(off);
    return { offset: off, length: end - off, ...(src !== undefined ? { src } : {}), bytes: Buffer.from(code.subarray(off, end)).toString("hex") };
  });
  if (ctx.json) {
    ctx.printJson(rows);
    return;
  }
  const out: string[] = [];
  for (const r of rows) {
    if (r.src) out.push(`; ${r.src}`);
    for (let o = 0; o < r.length; o += 16) {
      const chunk = r.bytes.slice(o * 2, Math.min(r.length, o + 16) * 2).match(/../g)!.join(" ");
      out.push(`${(r.offset + o).toString(16).padStart(6)}: ${chunk}`);
    }
  }
  ctx.write(`${out.join("\n")}\n`);
}

const dump: Command = {
  summary: "print a program's translated instructions or JIT'd code",
  subcommands: { xlated, jited },
};

const run: Command = {
  summary: "run a program once or many times with BPF_PROG_TEST_RUN and print its return value",
  args: "<prog>",
  options: {
    "data-in": { type: "string", value: "FILE", description: "input packet/data from FILE (- for stdin)" },
    data: { type: "string", value: "HEX", description: "input data as hex bytes" },
    "ctx-in": { type: "string", value: "FILE", description: "input context from FILE" },
    ctx: { type: "string", value: "HEX", description: "input context as hex bytes" },
    "data-out": { type: "string", value: "FILE", description: "write the output data to FILE" },
    repeat: { type: "string", value: "N", description: "run N times; the duration is the mean" },
  },
  examples: ["tsbpf prog run id 42 --data 0000000000000000 --repeat 1000"],
  run(ctx) {
    const { f, used } = oneProgram(ctx);
    using p = f.prog;
    noMoreArgs(ctx, used);
    const read = (file: string) => Uint8Array.from(readFileSync(file === "-" ? 0 : file));
    const data = str(ctx, "data-in") !== undefined ? read(str(ctx, "data-in")!) : str(ctx, "data") !== undefined ? parseHex(str(ctx, "data")!, "--data") : undefined;
    const c = str(ctx, "ctx-in") !== undefined ? read(str(ctx, "ctx-in")!) : str(ctx, "ctx") !== undefined ? parseHex(str(ctx, "ctx")!, "--ctx") : undefined;
    const repeatText = str(ctx, "repeat");
    const repeat = repeatText === undefined ? undefined : Number(repeatText);
    if (repeat !== undefined && !(Number.isInteger(repeat) && repeat >= 0 && repeat <= 0xffffffff)) throw new UsageError(`--repeat takes a count, not "${repeatText}"`);
    const r = p.run({ ...(data ? { data } : {}), ...(c ? { ctx: c } : {}), ...(repeat ? { repeat } : {}) });
    const out = str(ctx, "data-out");
    if (out && r.data) writeFileSync(out, r.data);
    const hex = (b?: Uint8Array) => (b ? Buffer.from(b).toString("hex") : undefined);
    if (ctx.json) ctx.printJson({ retval: r.retval, duration: r.durationNs, ...(r.data && !out ? { data_out: hex(r.data) } : {}), ...(r.ctx ? { ctx_out: hex(r.ctx) } : {}) });
    else {
      ctx.out(`Return value: ${r.retval}, duration${repeat ? " (average)" : ""}: ${r.durationNs}ns`);
      if (r.data && !out && r.data.length) ctx.out(`data_out: ${hex(r.data)}`);
      if (r.ctx) ctx.out(`ctx_out: ${hex(r.ctx)}`);
    }
  },
};

/** Wait `ms`, or less when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

const profile: Command = {
  summary: "count a program's runs and run time over a window (BPF_ENABLE_STATS)",
  args: "<prog>",
  description: "Turns run-time statistics on for the window (the kernel counts only while someone holds them on),\nand prints the runs, the time spent and the mean time per run. Ctrl-C ends the window early.",
  options: { duration: { type: "string", value: "SECONDS", description: "length of the window (default 1)" } },
  async run(ctx) {
    const { f, used } = oneProgram(ctx);
    using p = f.prog;
    noMoreArgs(ctx, used);
    const secs = Number(str(ctx, "duration") ?? "1");
    if (!(secs > 0 && secs <= 86400)) throw new UsageError(`--duration takes seconds, not "${str(ctx, "duration")}"`);
    using _stats = Program.enableStats();
    const before = p.info();
    const t0 = process.hrtime.bigint();
    await sleep(secs * 1000, ctx.signal);
    const after = p.info();
    const windowNs = process.hrtime.bigint() - t0;
    const runs = after.runCount - before.runCount;
    const ns = after.runTimeNs - before.runTimeNs;
    const r = { id: f.info.id, name: f.fullName, window_ns: windowNs, run_cnt: runs, run_time_ns: ns, avg_ns: runs ? Number(ns / runs) : 0 };
    if (ctx.json) ctx.printJson(r);
    else ctx.out(`${r.id}: ${r.name}  ${runs} runs in ${(Number(windowNs) / 1e9).toFixed(2)}s  run_time ${ns}ns  ${runs ? `${r.avg_ns}ns per run` : ""}`.trimEnd());
  },
};

const pin: Command = {
  summary: "pin a program on bpffs",
  args: "<prog> <path>",
  run(ctx) {
    const { f, used } = oneProgram(ctx);
    using p = f.prog;
    const path = arg(ctx, used, "<path>");
    noMoreArgs(ctx, used + 1);
    p.pin(path);
  },
};

const tracelog: Command = {
  summary: "print bpf_printk output (the kernel's trace_pipe) until Ctrl-C",
  description:
    "Reads tracefs' trace_pipe, which every bpf_printk/bpf_trace_printk writes to, through the library's\n" +
    "readTracePipe (it never blocks the event loop). Reading consumes: only one reader sees each line.\n" +
    "trace_pipe lines do not say which program printed them: filter by --pid, --task or --text.",
  options: {
    duration: { type: "string", value: "SECONDS", description: "stop after this long" },
    pid: { type: "string", value: "PID", description: "only lines of this pid" },
    task: { type: "string", value: "COMM", description: "only lines of this task name" },
    text: { type: "string", value: "TEXT", description: "only lines whose message contains this" },
  },
  async run(ctx) {
    noMoreArgs(ctx, 0);
    const secs = str(ctx, "duration") === undefined ? undefined : Number(str(ctx, "duration"));
    if (secs !== undefined && !(secs > 0)) throw new UsageError(`--duration takes seconds, not "${str(ctx, "duration")}"`);
    const pidText = str(ctx, "pid");
    const pid = pidText === undefined ? undefined : Number(pidText);
    if (pid !== undefined && !Number.isSafeInteger(pid)) throw new UsageError(`--pid takes a number, not "${pidText}"`);
    const signals = [ctx.signal, ...(secs !== undefined ? [AbortSignal.timeout(secs * 1000)] : [])];
    const filter = {
      ...(pid !== undefined ? { pid } : {}),
      ...(str(ctx, "task") !== undefined ? { task: str(ctx, "task")! } : {}),
      ...(str(ctx, "text") !== undefined ? { text: str(ctx, "text")! } : {}),
    };
    for await (const line of readTracePipe({ ...filter, signal: AbortSignal.any(signals) })) {
      if (ctx.json) ctx.printJson({ task: line.task, pid: line.pid, cpu: line.cpu, timestamp: line.timestamp, event: line.event, message: line.message });
      else ctx.out(line.raw);
    }
  },
};

/** The `tsbpf prog` command. */
export const command: Command = {
  summary: "list, show, dump, run, profile and pin loaded programs",
  subcommands: { list, show, dump, run, profile, pin, tracelog },
};
