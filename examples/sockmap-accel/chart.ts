// A two-panel grouped bar chart (throughput, round-trip p50/p99) as a standalone SVG string,
// written by hand so the example needs no plotting dependency.
export interface Series {
  name: string;
  color: string;
  throughputMBps: number;
  rttP50us: number;
  rttP99us: number;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

interface Panel {
  title: string;
  unit: string;
  groups: string[];
  /** values[group][series] */
  values: number[][];
}

function panel(p: Panel, series: readonly Series[], x0: number): string {
  const w = 360;
  const h = 220;
  const top = 50;
  const max = Math.max(...p.values.flat(), 1e-9) * 1.15;
  const groupW = w / p.groups.length;
  const barW = (groupW * 0.7) / series.length;
  const out = [`<g transform="translate(${x0},0)">`, `<text x="${w / 2}" y="24" text-anchor="middle" font-weight="bold">${esc(p.title)} (${esc(p.unit)})</text>`];
  out.push(`<line x1="0" y1="${top + h}" x2="${w}" y2="${top + h}" stroke="#333"/>`);
  p.groups.forEach((g, gi) => {
    const gx = gi * groupW + groupW * 0.15;
    series.forEach((s, si) => {
      const v = p.values[gi]?.[si] ?? 0;
      const bh = (v / max) * h;
      const x = gx + si * barW;
      out.push(
        `<rect class="series-${esc(s.name)}" x="${x.toFixed(1)}" y="${(top + h - bh).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${s.color}"><title>${esc(s.name)}: ${v.toFixed(1)} ${esc(p.unit)}</title></rect>`,
        `<text x="${(x + barW / 2).toFixed(1)}" y="${(top + h - bh - 4).toFixed(1)}" text-anchor="middle" font-size="11">${v.toFixed(1)}</text>`,
      );
    });
    out.push(`<text x="${(gi * groupW + groupW / 2).toFixed(1)}" y="${top + h + 18}" text-anchor="middle">${esc(g)}</text>`);
  });
  out.push("</g>");
  return out.join("\n");
}

/** The chart of `series` (one bar per series in each group) as an SVG document. */
export function comparisonSvg(title: string, series: readonly Series[]): string {
  const width = 820;
  const height = 340;
  const legend = series
    .map((s, i) => `<rect x="${20 + i * 200}" y="${height - 26}" width="14" height="14" fill="${s.color}"/><text x="${40 + i * 200}" y="${height - 14}">${esc(s.name)}</text>`)
    .join("\n");
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel({ title: "Throughput", unit: "MB/s", groups: ["bulk transfer"], values: [series.map((s) => s.throughputMBps)] }, series, 20),
    panel({ title: "Round trip", unit: "µs", groups: ["p50", "p99"], values: [series.map((s) => s.rttP50us), series.map((s) => s.rttP99us)] }, series, 430),
    legend,
    `</svg>`,
    "",
  ].join("\n");
}
