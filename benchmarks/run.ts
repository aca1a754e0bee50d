/**
 * `npm run bench`: builds the C reference programs, runs every suite in benchmarks/suites/
 * beside its C counterpart, prints a table of ratios, and writes benchmarks/results/latest.json
 * (partial.json for a --filter run).
 *
 *   npm run bench                       every suite, 41 rounds per row
 *   npm run bench -- --filter hash      rows whose suite or name contains "hash"
 *   npm run bench -- --quick            half the work, 9 rounds (a smoke run)
 *   npm run bench -- --rounds 9 --cpu 0 more rounds, pinned to CPU 0
 *   npm run bench -- --strict           exit 1 when a target is missed
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { availableParallelism, release } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { BENCH_DIR, buildC, formatTable, measureRow, type BenchSuite, type RowResult } from "./harness.js";

interface Args {
  filter?: string;
  rounds: number;
  scale: number;
  cpu?: number;
  strict: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rounds: 41, scale: 1, strict: false, cpu: availableParallelism() - 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--filter") args.filter = value();
    else if (a === "--rounds") args.rounds = Number(value());
    else if (a === "--scale") args.scale = Number(value());
    else if (a === "--quick") {
      args.scale = 0.5;
      args.rounds = 9;
    } else if (a === "--cpu") args.cpu = Number(value());
    else if (a === "--no-pin") args.cpu = undefined;
    else if (a === "--strict") args.strict = true;
    else throw new Error(`unknown argument ${a} (see the header of benchmarks/run.ts)`);
  }
  if (!Number.isInteger(args.rounds) || args.rounds < 1) throw new Error("--rounds must be a positive integer");
  if (!(args.scale > 0)) throw new Error("--scale must be positive");
  return args;
}

/** Every suite file in benchmarks/suites/, in name order. */
async function loadSuites(): Promise<BenchSuite[]> {
  const dir = join(BENCH_DIR, "suites");
  const suites: BenchSuite[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts")).sort()) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { suite?: BenchSuite };
    if (!mod.suite || !Array.isArray(mod.suite.rows)) throw new Error(`benchmarks/suites/${file} must export \`suite: BenchSuite\``);
    suites.push(mod.suite);
  }
  return suites;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error("the benchmarks need root (bpf(2) is root-only here)");
  buildC();
  if (args.cpu !== undefined) {
    // Pin every thread of this process to the CPU the C side runs on: same cache, same clock.
    execFileSync("taskset", ["-a", "-cp", String(args.cpu), String(process.pid)], { stdio: "ignore" });
  }
  const suites = await loadSuites();
  const results: RowResult[] = [];
  for (const suite of suites) {
    for (const row of suite.rows) {
      const label = `${suite.name} ${row.name}`;
      if (args.filter && !label.toLowerCase().includes(args.filter.toLowerCase())) continue;
      process.stderr.write(`  ${label} …`);
      const r = await measureRow(suite.name, row, { rounds: args.rounds, cpu: args.cpu, scale: args.scale });
      process.stderr.write(` ${r.ratio.toFixed(3)}×\n`);
      results.push(r);
    }
  }
  console.log(formatTable(results));
  const missed = results.filter((r) => !r.met);
  console.log(missed.length === 0 ? "\nevery target met" : `\n${missed.length} of ${results.length} targets missed`);

  mkdirSync(join(BENCH_DIR, "results"), { recursive: true });
  const json = {
    date: new Date().toISOString(),
    kernel: release(),
    node: process.version,
    cpu: args.cpu ?? null,
    rounds: args.rounds,
    scale: args.scale,
    rows: results.map((r) => ({
      suite: r.suite,
      name: r.name,
      unit: r.unit,
      tsbpfNsPerOp: Number(r.tsbpfNsPerOp.toFixed(1)),
      cNsPerOp: Number(r.cNsPerOp.toFixed(1)),
      tsbpfMedianNs: Number(r.tsbpfMedianNs.toFixed(1)),
      cMedianNs: Number(r.cMedianNs.toFixed(1)),
      ratio: Number(r.ratio.toFixed(4)),
      target: r.target,
      met: r.met,
    })),
  };
  // latest.json is the full table, all rows measured in one run: a filtered run must not
  // replace it with a few rows.
  const out = args.filter ? "partial.json" : "latest.json";
  writeFileSync(join(BENCH_DIR, "results", out), `${JSON.stringify(json, null, 2)}\n`);
  console.log(`results written to benchmarks/results/${out}`);
  if (args.strict && missed.length > 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
