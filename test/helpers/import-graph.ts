/**
 * The import graph of a source tree, read with TypeScript's own pre-processor (static imports,
 * `import type`, `export … from`, dynamic `import()`), and the checks of the rank table on it:
 * imports that run up a rank, pure layers that reach sys, koffi outside sys, circles.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { layerOf, rankOf, unitOf } from "./layers.js";

/** One import: from a src-relative file to a src-relative file (or a package name). */
export interface ImportEdge {
  readonly from: string;
  /** The src-relative target (".js" read as ".ts"), or the bare specifier of a package. */
  readonly to: string;
  /** Whether `to` is a package (`koffi`, `node:fs`), not a file of the tree. */
  readonly external: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith(".ts") && !p.endsWith(".d.ts") ? [p] : [];
  });
}

/** Every file of the tree (src-relative) and every import of each. */
export function importGraph(srcDir: string): { files: string[]; edges: ImportEdge[] } {
  const root = resolve(srcDir);
  const paths = sourceFiles(root);
  const edges: ImportEdge[] = [];
  for (const path of paths) {
    const from = relative(root, path);
    const info = ts.preProcessFile(readFileSync(path, "utf8"), true, true);
    for (const { fileName } of info.importedFiles) {
      if (fileName.startsWith(".")) {
        edges.push({ from, to: relative(root, resolve(dirname(path), fileName.replace(/\.js$/, ".ts"))), external: false });
      } else {
        edges.push({ from, to: fileName, external: true });
      }
    }
  }
  return { files: paths.map((p) => relative(root, p)), edges };
}

/** What the rank table says is wrong with a graph: one line per problem, empty when none. */
export function rankViolations(graph: { files: string[]; edges: ImportEdge[] }): string[] {
  const out: string[] = [];
  for (const f of graph.files) {
    if (rankOf(f) === undefined) out.push(`${f}: no row of the rank table holds "${unitOf(f)}" (add it to test/helpers/layers.ts)`);
  }
  for (const e of graph.edges) {
    if (e.external) {
      if (e.to === "koffi" && layerOf(e.from)?.name !== "sys") out.push(`${e.from} imports koffi: only src/sys may`);
      continue;
    }
    const a = rankOf(e.from);
    const b = rankOf(e.to);
    if (a === undefined || b === undefined) continue; // reported above (or a missing file tsc reports)
    if (b > a) out.push(`${e.from} (rank ${a}) imports ${e.to} (rank ${b}): an import up a rank`);
  }
  out.push(...pureViolations(graph));
  for (const c of circles(graph)) out.push(`import circle among: ${c.join(", ")}`);
  return out;
}

/** Pure layers must not reach sys, directly or through another module. */
function pureViolations(graph: { files: string[]; edges: ImportEdge[] }): string[] {
  const next = adjacency(graph);
  const out: string[] = [];
  for (const f of graph.files) {
    const layer = layerOf(f);
    if (!layer || layer.kernel) continue;
    // breadth-first over what f imports; report the first path into a kernel layer
    const seen = new Map<string, string>([[f, ""]]);
    const queue = [f];
    while (queue.length) {
      const cur = queue.shift()!;
      const l = layerOf(cur);
      if (cur !== f && l?.kernel) {
        const path: string[] = [];
        for (let p: string = cur; p !== ""; p = seen.get(p)!) path.unshift(p);
        out.push(`${f} is pure (${layer.name}) but reaches ${l.name}: ${path.join(" → ")}`);
        break;
      }
      for (const n of next.get(cur) ?? []) {
        if (!seen.has(n)) {
          seen.set(n, cur);
          queue.push(n);
        }
      }
    }
  }
  return out;
}

function adjacency(graph: { files: string[]; edges: ImportEdge[] }): Map<string, string[]> {
  const next = new Map<string, string[]>();
  for (const f of graph.files) next.set(f, []);
  for (const e of graph.edges) if (!e.external && next.has(e.to)) next.get(e.from)!.push(e.to);
  return next;
}

/**
 * Import circles: strongly connected groups of files, and of folders (a circle between two
 * folders of one rank, through different files, is a circle too; folders end in "/").
 */
export function circles(graph: { files: string[]; edges: ImportEdge[] }): string[][] {
  const fileSccs = scc(adjacency(graph));
  const units = new Map<string, Set<string>>();
  for (const e of graph.edges) {
    if (e.external) continue;
    const a = unitOf(e.from);
    const b = unitOf(e.to);
    if (a === b) continue;
    if (!units.has(a)) units.set(a, new Set());
    if (!units.has(b)) units.set(b, new Set());
    units.get(a)!.add(b);
  }
  const unitSccs = scc(new Map([...units].map(([k, v]) => [k, [...v]])));
  return [...fileSccs, ...unitSccs.map((c) => c.map((u) => `${u}/`))];
}

/** Tarjan's strongly connected components of size > 1 (or a self-import). */
function scc(next: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!next.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || (next.get(v) ?? []).includes(v)) out.push(group.reverse());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return out;
}
