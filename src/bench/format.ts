/**
 * Text for people: a summary table, an ASCII histogram of round times, a comparison line, in
 * plain text or Markdown. Pure.
 */
import type { BenchmarkResult, ComparisonResult } from "./benchmark.js";
import type { ProgramLoadCost } from "./load-cost.js";
import type { LiveStatsResult } from "./live.js";

const ns = (x: number) => (Number.isNaN(x) ? "-" : x >= 100 ? x.toFixed(0) : x.toFixed(1));

function table(rows: string[][], markdown: boolean): string {
  if (markdown) {
    const [head, ...body] = rows;
    return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...body.map((r) => `| ${r.join(" | ")} |`)].join("\n");
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd()).join("\n");
}

const SUMMARY_HEAD = ["program", "median ns/run", "CI", "p5", "p95", "MAD", "rounds", "outliers", "repeat×inputs"];

function summaryRow(r: BenchmarkResult): string[] {
  const s = r.summary;
  return [
    r.program || "(unnamed)",
    ns(s.median),
    `${ns(s.medianCi.low)}–${ns(s.medianCi.high)} (${(s.medianCi.coverage * 100).toFixed(1)}%)`,
    ns(s.p5),
    ns(s.p95),
    ns(s.mad),
    String(s.n),
    String(s.outliers.length),
    `${r.repeat}×${r.inputs}`,
  ];
}

/** A table of one or more benchmark results. */
export function formatResults(results: readonly BenchmarkResult[], options: { markdown?: boolean } = {}): string {
  return table([SUMMARY_HEAD, ...results.map(summaryRow)], options.markdown ?? false);
}

/**
 * An ASCII histogram of round times: `bins` buckets between the fastest and slowest round,
 * each a bar of `#` scaled to `width`, outlier rounds counted in their bucket and marked.
 */
export function histogram(result: BenchmarkResult, options: { bins?: number; width?: number } = {}): string {
  const rounds = result.rounds;
  const bins = Math.max(1, Math.min(options.bins ?? 10, rounds.length));
  const width = options.width ?? 40;
  const { min, max } = result.summary;
  const span = max - min;
  const counts = new Array<number>(bins).fill(0);
  const outliers = new Array<number>(bins).fill(0);
  const flagged = new Set(result.summary.outliers);
  rounds.forEach((x, i) => {
    const b = span === 0 ? 0 : Math.min(bins - 1, Math.floor(((x - min) / span) * bins));
    counts[b]++;
    if (flagged.has(i)) outliers[b]++;
  });
  const top = Math.max(...counts);
  const lines: string[] = [];
  const label = (i: number) => `${ns(min + (span * i) / bins)}`;
  const labelWidth = Math.max(...counts.map((_, i) => label(i).length));
  for (let i = 0; i < bins; i++) {
    if (span === 0 && i > 0) break;
    const bar = "#".repeat(Math.round((counts[i] / top) * width));
    lines.push(`${label(i).padStart(labelWidth)} ns |${bar} ${counts[i]}${outliers[i] ? ` (${outliers[i]} outlier${outliers[i] > 1 ? "s" : ""})` : ""}`);
  }
  return lines.join("\n");
}

/** The comparison as a table of both programs and one verdict line. */
export function formatComparison(c: ComparisonResult, options: { markdown?: boolean } = {}): string {
  const r = c.ratio;
  const pct = (x: number) => `${x >= 1 ? "+" : ""}${((x - 1) * 100).toFixed(1)}%`;
  const verdict = r.verdict === "no significant difference"
    ? "no significant difference"
    : `B is ${r.verdict} than A`;
  const line = `B/A = ${r.ratio.toFixed(3)} (${pct(r.ratio)}), ${(r.ci.level * 100).toFixed(0)}% interval ${r.ci.low.toFixed(3)}–${r.ci.high.toFixed(3)} over ${r.pairs} interleaved pairs: ${verdict}`;
  const rows = [SUMMARY_HEAD, ["A " + (c.a.program || ""), ...summaryRow(c.a).slice(1)], ["B " + (c.b.program || ""), ...summaryRow(c.b).slice(1)]];
  return `${table(rows, options.markdown ?? false)}\n\n${options.markdown ? `**${line}**` : line}`;
}

/** A table of load costs, one row per program. */
export function formatLoadCost(costs: readonly ProgramLoadCost[], options: { markdown?: boolean } = {}): string {
  const v = (x: number | undefined) => (x === undefined ? "-" : String(x));
  return table([
    ["program", "insns", "verified", "processed", "peak states", "total states", "verify µs", "xlated B", "jited B"],
    ...costs.map((c) => [c.name, String(c.instructions), String(c.verifiedInsns), v(c.processedInsns), v(c.peakStates), v(c.totalStates), v(c.verificationTimeUs), String(c.translatedBytes), String(c.jitedBytes)]),
  ], options.markdown ?? false);
}

/** A table of live statistics, one row per program. */
export function formatLiveStats(live: LiveStatsResult, options: { markdown?: boolean } = {}): string {
  return table([
    ["id", "program", "type", "runs", "ns/run", "runs/s", "recursion misses"],
    ...live.programs.map((p) => [String(p.id), p.name, String(p.type), String(p.runs), ns(p.nsPerRun), p.runsPerSecond.toFixed(0), String(p.recursionMisses)]),
  ], options.markdown ?? false);
}
