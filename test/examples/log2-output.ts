// Reads the bcc-style log2 histograms the runqlat and uprobe-latency examples print, checking
// as it goes that the rows are the consecutive power-of-two buckets 0 -> 1, 2 -> 3, 4 -> 7, …
import { expect } from "vitest";

export interface Log2Row {
  low: number;
  high: number;
  count: number;
  bar: number;
}

const ROW = /^\s*(\d+) -> (\d+)\s+: (\d+)\s+\|(\**) *\|$/;

/** Every histogram in `out`: each a run of consecutive row lines after a "usecs : count" header. */
export function parseLog2Hists(out: string): Log2Row[][] {
  const hists: Log2Row[][] = [];
  let current: Log2Row[] | undefined;
  for (const line of out.split("\n")) {
    if (/^\s+usecs : count +distribution$/.test(line)) {
      current = [];
      hists.push(current);
      continue;
    }
    const m = ROW.exec(line);
    if (current && m) current.push({ low: Number(m[1]), high: Number(m[2]), count: Number(m[3]), bar: (m[4] ?? "").length });
    else current = undefined;
  }
  for (const rows of hists) {
    rows.forEach((r, slot) => {
      expect([r.low, r.high]).toEqual([slot === 0 ? 0 : 2 ** slot, 2 ** (slot + 1) - 1]);
    });
    const max = Math.max(...rows.map((r) => r.count));
    expect(rows.at(-1)?.count).toBeGreaterThan(0);
    for (const r of rows) expect(r.bar).toBe(Math.round((r.count / max) * 40));
  }
  return hists;
}

export const sum = (rows: readonly Log2Row[]): number => rows.reduce((a, r) => a + r.count, 0);
