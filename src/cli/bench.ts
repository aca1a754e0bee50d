/**
 * `tsbpf bench`: measure what a BPF program costs with BPF_PROG_TEST_RUN (rounds on a pinned
 * CPU, robust statistics, a histogram), compare two builds (`--vs`: interleaved rounds, the
 * ratio with its interval and a verdict), show the cost of loading (`--cost`), guard against a
 * committed baseline (`--baseline`), or sample attached programs under real traffic (`--live`).
 * Progress goes to stderr; results to stdout as a table, `--markdown` or `--json`.
 */
import { readFileSync } from "node:fs";
import { Collection } from "../collection/collection.js";
import { CollectionSpec } from "../elf/collection-spec.js";
import { benchmark, checkBenchmarkable, compare, type BenchInput, type BenchmarkOptions } from "../bench/benchmark.js";
import { checkBaseline } from "../bench/baseline.js";
import { formatComparison, formatLiveStats, formatLoadCost, formatResults, histogram } from "../bench/format.js";
import { liveStats } from "../bench/live.js";
import { loadCost } from "../bench/load-cost.js";
import { buildPacket, parsePacketSpec } from "../bench/packet.js";
import { LINKTYPE_ETHERNET, readCapture } from "../bench/pcap.js";
import { xdpContext } from "../bench/context.js";
import { Program } from "../program/program.js";
import type { LegacyCommand as Command } from "./command.js";

const USAGE = [
  "bench OBJ[:PROG] [--vs OBJ2[:PROG]] [--pcap FILE] [--packet SPEC]... [--rounds N] [--repeat N] [--warmup N]",
  "      [--cpu N|none] [--level 0.95] [--seed N] [--ingress-ifindex N] [--json|--markdown] [--fail-if-slower]",
  "      [--baseline FILE [--update-baseline] [--threshold 0.05]]",
  "bench --cost OBJ [--json|--markdown]",
  "bench --live (--id N | --pin PATH)... [--seconds 10] [--json|--markdown]",
].join("\n  tsbpf ");

interface Args {
  target?: string;
  vs?: string;
  pcap?: string;
  packets: string[];
  rounds?: number;
  repeat?: number;
  warmup?: number;
  cpu?: number | false;
  level?: number;
  seed?: number;
  ingressIfindex?: number;
  json: boolean;
  markdown: boolean;
  failIfSlower: boolean;
  baseline?: string;
  updateBaseline: boolean;
  threshold?: number;
  cost: boolean;
  live: boolean;
  ids: number[];
  pins: string[];
  seconds: number;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const a: Args = { packets: [], json: false, markdown: false, failIfSlower: false, updateBaseline: false, cost: false, live: false, ids: [], pins: [], seconds: 10 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    const number = (min: number, integer = true): number => {
      const raw = value();
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new UsageError(`${arg} needs a number ≥ ${min}, got ${JSON.stringify(raw)}`);
      return n;
    };
    switch (arg) {
      case "--vs": a.vs = value(); break;
      case "--pcap": a.pcap = value(); break;
      case "--packet": a.packets.push(value()); break;
      case "--rounds": a.rounds = number(1); break;
      case "--repeat": a.repeat = number(1); break;
      case "--warmup": a.warmup = number(0); break;
      case "--cpu": {
        const v = argv[i + 1];
        if (v === "none") {
          i++;
          a.cpu = false;
        } else a.cpu = number(0);
        break;
      }
      case "--level": a.level = number(0, false); break;
      case "--seed": a.seed = number(0); break;
      case "--ingress-ifindex": a.ingressIfindex = number(1); break;
      case "--json": case "-j": case "--pretty": case "-p": a.json = true; break; // its JSON is always indented
      case "--markdown": a.markdown = true; break;
      case "--fail-if-slower": a.failIfSlower = true; break;
      case "--baseline": a.baseline = value(); break;
      case "--update-baseline": a.updateBaseline = true; break;
      case "--threshold": a.threshold = number(0, false); break;
      case "--cost": a.cost = true; break;
      case "--live": a.live = true; break;
      case "--id": a.ids.push(number(1)); break;
      case "--pin": a.pins.push(value()); break;
      case "--seconds": a.seconds = number(0, false); break;
      default:
        if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
        if (a.target !== undefined) throw new UsageError(`one object to benchmark (got ${a.target} and ${arg}); compare two with --vs`);
        a.target = arg;
    }
  }
  if (a.json && a.markdown) throw new UsageError("--json and --markdown exclude each other");
  if (a.live) {
    if (a.ids.length === 0 && a.pins.length === 0) throw new UsageError("--live needs --id N (bpftool prog list shows ids) or --pin PATH");
  } else if (a.target === undefined) {
    throw new UsageError("name an object: tsbpf bench prog.o[:program]");
  }
  return a;
}

/** `obj.o:prog` → file and program; a bare path has no program. */
function splitTarget(target: string): { file: string; program?: string } {
  const colon = target.lastIndexOf(":");
  if (colon > 0 && !target.slice(colon + 1).includes("/")) return { file: target.slice(0, colon), program: target.slice(colon + 1) };
  return { file: target };
}

/** Load the one program to benchmark from `target`; the caller closes the collection. */
function loadTarget(target: string, preferred?: string): { coll: Collection; program: Program; label: string } {
  const { file, program: wanted } = splitTarget(target);
  const spec = CollectionSpec.fromFile(file);
  // `--vs other.o` with no program name compares the program of the same name, when there is one.
  let name = wanted ?? (preferred !== undefined && spec.programs[preferred] !== undefined ? preferred : undefined);
  if (name === undefined) {
    const candidates = spec.autoloadPrograms.filter((n) => {
      try {
        checkBenchmarkable(spec.programs[n].type, n);
        return true;
      } catch {
        return false;
      }
    });
    if (candidates.length !== 1) {
      throw new UsageError(candidates.length === 0
        ? `${file} has no program that test runs can time (${spec.autoloadPrograms.join(", ") || "none"}): measure it attached with --live`
        : `${file} has ${candidates.length} programs that can be benchmarked: pick one with ${file}:NAME (${candidates.join(", ")})`);
    }
    name = candidates[0];
  } else if (spec.programs[name] === undefined) {
    throw new UsageError(`${file} has no program ${JSON.stringify(name)} (it has: ${Object.keys(spec.programs).join(", ")})`);
  }
  const coll = Collection.load(spec, { programs: [name] });
  return { coll, program: coll.programs[name], label: `${file}:${name}` };
}

function inputs(args: Args): BenchInput[] | undefined {
  const ctx = args.ingressIfindex === undefined ? undefined : xdpContext({ ingressIfindex: args.ingressIfindex });
  const list: BenchInput[] = [];
  if (args.pcap !== undefined) {
    const packets = readCapture(new Uint8Array(readFileSync(args.pcap)));
    const frames = packets.filter((p) => p.linkType === LINKTYPE_ETHERNET);
    if (frames.length === 0) throw new UsageError(`${args.pcap} holds no Ethernet frames (${packets.length} packets of other link types)`);
    for (const p of frames) list.push({ data: p.data, ...(ctx ? { ctx } : {}) });
  }
  for (const spec of args.packets) list.push({ data: buildPacket(parsePacketSpec(spec)), ...(ctx ? { ctx } : {}) });
  if (list.length === 0 && ctx) list.push({ data: buildPacket(), ctx });
  return list.length > 0 ? list : undefined;
}

function progress(label: string): (round: number, rounds: number, value: number) => void {
  const tty = process.stderr.isTTY === true;
  return (round, rounds) => {
    // On a terminal one line counts up; in a log, a line every 10 rounds and at the end.
    if (tty) process.stderr.write(`\rbench ${label}: round ${round}/${rounds}${round === rounds ? "\n" : ""}`);
    else if (round % 10 === 0 || round === rounds) process.stderr.write(`bench ${label}: round ${round}/${rounds}\n`);
  };
}

function print(args: Args, json: unknown, text: string): void {
  console.log(args.json ? JSON.stringify(json, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2) : text);
}

async function run(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`tsbpf bench: ${e.message}\nusage: tsbpf ${USAGE}`);
      return 2;
    }
    throw e;
  }
  const markdown = args.markdown;

  if (args.live) {
    const pinned = args.pins.map((path) => Program.open(path, { readonly: true }));
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.once("SIGINT", stop);
    try {
      process.stderr.write(`bench: sampling ${args.ids.length + pinned.length} program(s) for ${args.seconds} s (Ctrl-C ends the window early) …\n`);
      const live = await liveStats({ ids: args.ids, programs: pinned, durationMs: args.seconds * 1000, signal: ac.signal });
      print(args, live, formatLiveStats(live, { markdown }));
    } finally {
      process.off("SIGINT", stop);
      for (const p of pinned) p.close();
    }
    return 0;
  }

  if (args.cost) {
    const costs = loadCost(CollectionSpec.fromFile(splitTarget(args.target!).file));
    print(args, costs, formatLoadCost(costs, { markdown }));
    return 0;
  }

  try {
    const options: BenchmarkOptions = {
      ...(args.rounds !== undefined ? { rounds: args.rounds } : {}),
      ...(args.repeat !== undefined ? { repeat: args.repeat } : {}),
      ...(args.warmup !== undefined ? { warmup: args.warmup } : {}),
      ...(args.cpu !== undefined ? { cpu: args.cpu } : {}),
      ...(args.level !== undefined ? { level: args.level } : {}),
      ...(args.seed !== undefined ? { seed: args.seed } : {}),
    };
    const list = inputs(args);
    if (list) options.inputs = list;
    const a = loadTarget(args.target!);
    try {
      if (args.vs !== undefined) {
        const b = loadTarget(args.vs, splitTarget(a.label).program);
        try {
          const c = await compare(a.program, b.program, { ...options, onRound: progress(`${a.label} vs ${b.label}`) });
          const same = c.a.retvals.every((r, i) => r === c.b.retvals[i]);
          const returns = `return values per input: A ${c.a.retvals.join(",")}; B ${c.b.retvals.join(",")}${same ? " (the same)" : " (they DIFFER: the two programs do not do the same thing)"}`;
          if (!same) process.stderr.write(`bench: warning: ${returns}\n`);
          const text = `A = ${a.label}\nB = ${b.label}\n${returns}\n\n${formatComparison(c, { markdown })}\n\nA\n${fence(histogram(c.a), markdown)}\nB\n${fence(histogram(c.b), markdown)}`;
          print(args, { labels: { a: a.label, b: b.label }, ...c }, text);
          return args.failIfSlower && c.ratio.verdict === "slower" ? 1 : 0;
        } finally {
          b.coll.close();
        }
      }
      if (args.baseline !== undefined) {
        const check = await checkBaseline(a.program, {
          ...options,
          file: args.baseline,
          update: args.updateBaseline,
          ...(args.threshold !== undefined ? { threshold: args.threshold } : {}),
          onRound: progress(a.label),
        });
        print(args, check, `${formatResults([check.current], { markdown })}\n\n${check.message}`);
        return check.outcome === "regressed" ? 1 : 0;
      }
      const r = await benchmark(a.program, { ...options, onRound: progress(a.label) });
      print(args, { target: a.label, ...r }, `${a.label}: return values per input ${r.retvals.join(",")}\n\n${formatResults([r], { markdown })}\n\n${fence(histogram(r), markdown)}`);
      return 0;
    } finally {
      a.coll.close();
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`tsbpf bench: ${e.message}`);
      return 2;
    }
    const code = (e as { code?: string }).code;
    if (code === "ENOENT" && (e as { path?: string }).path) {
      console.error(`tsbpf bench: cannot read ${(e as { path?: string }).path}: ENOENT`);
      return 1;
    }
    throw e;
  }
}

function fence(text: string, markdown: boolean): string {
  return markdown ? `\`\`\`\n${text}\n\`\`\`` : text;
}

export const command: Command = {
  usage: USAGE,
  summary: "measure a program with test runs, compare two builds (--vs), load cost (--cost), live cost (--live)",
  description: "Progress goes to stderr; results to stdout as a table, --markdown or --json.",
  options: {
    vs: { type: "string", value: "OBJ2[:PROG]", description: "compare with this build (interleaved rounds, ratio and verdict)" },
    pcap: { type: "string", value: "FILE", description: "run on the packets of this capture" },
    packet: { type: "string", multiple: true, value: "SPEC", description: "run on this packet" },
    rounds: { type: "string", value: "N", description: "rounds of measurement" },
    repeat: { type: "string", value: "N", description: "test runs per round (the kernel's repeat)" },
    warmup: { type: "string", value: "N", description: "rounds run and thrown away first" },
    cpu: { type: "string", value: "N|none", description: "pin to this CPU (none: do not pin)" },
    level: { type: "string", value: "0.95", description: "confidence level of intervals" },
    seed: { type: "string", value: "N", description: "seed of the round order and resampling" },
    "ingress-ifindex": { type: "string", value: "N", description: "ingress interface index of the XDP context" },
    json: { type: "boolean", short: "j", description: "print the results as JSON" },
    pretty: { type: "boolean", short: "p", description: "the same as --json (its JSON is always indented)" },
    markdown: { type: "boolean", description: "print the results as Markdown" },
    "fail-if-slower": { type: "boolean", description: "with --vs: exit 1 when the program is slower than the other" },
    baseline: { type: "string", value: "FILE", description: "compare with a committed baseline (exit 1 beyond --threshold)" },
    "update-baseline": { type: "boolean", description: "with --baseline: write the baseline instead" },
    threshold: { type: "string", value: "0.05", description: "with --baseline: the slow-down that fails" },
    cost: { type: "boolean", description: "show the cost of loading the object" },
    live: { type: "boolean", description: "sample attached programs under real traffic (BPF_ENABLE_STATS)" },
    id: { type: "string", multiple: true, value: "N", description: "with --live: the program with this id" },
    pin: { type: "string", multiple: true, value: "PATH", description: "with --live: the program pinned here" },
    seconds: { type: "string", value: "10", description: "with --live: how long to sample" },
  },
  run,
};
