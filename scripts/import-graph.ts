/**
 * Print the import graph of src/ between folders, each edge with the ranks on both ends
 * (test/helpers/layers.ts), then every violation of the rank table (none when the tree is sound).
 *   npx tsx scripts/import-graph.ts
 */
import { join } from "node:path";
import { importGraph, rankViolations } from "../test/helpers/import-graph.js";
import { rankOf, unitOf } from "../test/helpers/layers.js";

const graph = importGraph(join(import.meta.dirname, "../src"));
const counts = new Map<string, number>();
for (const e of graph.edges) {
  if (e.external || unitOf(e.from) === unitOf(e.to)) continue;
  const key = `${unitOf(e.from)} (${rankOf(e.from)}) → ${unitOf(e.to)} (${rankOf(e.to)})`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
for (const [edge, n] of [...counts].sort()) console.log(`${edge}  ×${n}`);
const v = rankViolations(graph);
console.log(v.length ? `\n${v.length} violation(s):\n${v.join("\n")}` : "\nno import up a rank, no pure layer reaching sys, no circle");
process.exitCode = v.length ? 1 : 0;
