// A log2 histogram printed as bcc prints one: one row per power-of-two bucket, from the first
// bucket up to the last one that has counts, with a bar scaled to the largest count.
const BAR_WIDTH = 40;

/** The bounds of bucket `slot` as bcc shows them: 0 -> 1, 2 -> 3, 4 -> 7, … */
export function bucketRange(slot: number): [number, number] {
  const high = 2 ** (slot + 1) - 1;
  return [slot === 0 ? 0 : 2 ** slot, high];
}

/** The slot a value falls in: floor(log2(v)), with 0 and 1 in slot 0 (as the BPF side counts). */
export function slotOf(v: number): number {
  return v <= 1 ? 0 : Math.floor(Math.log2(v));
}

/** Lines of the histogram of `counts` (index = slot), headed by `unit`; empty when no counts. */
export function formatLog2Hist(counts: readonly number[], unit: string): string[] {
  let last = -1;
  counts.forEach((c, i) => {
    if (c > 0) last = i;
  });
  if (last < 0) return [];
  const max = Math.max(...counts);
  const width = String(bucketRange(last)[1]).length;
  const lines = [`${unit.padStart(width * 2 + 5)} : count    distribution`];
  for (let i = 0; i <= last; i++) {
    const [low, high] = bucketRange(i);
    const c = counts[i] ?? 0;
    const bar = "*".repeat(Math.round((c / max) * BAR_WIDTH)).padEnd(BAR_WIDTH);
    lines.push(`${String(low).padStart(width + 1)} -> ${String(high).padEnd(width)} : ${String(c).padEnd(8)} |${bar}|`);
  }
  return lines;
}
