/**
 * Statistics of the benchmark harness, against distributions whose answers are known: the
 * median interval covers the true median as often as it claims, the MAD of a normal sample is
 * 0.6745 σ, injected outliers are flagged, and the ratio of scaled series is the scale.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  binomialHalfCdf, mad, median, medianInterval, normalQuantile, outlierIndices, quantile, ratioOfPairs, ratioOfSamples,
  seededRandom, sortedCopy, summarize,
} from "../../src/bench/stats.js";

/** Samplers driven by a seeded uniform generator. */
function normal(random: () => number, mu = 0, sigma = 1): number {
  const u = 1 - random();
  const v = random();
  return mu + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
const exponential = (random: () => number, rate = 1) => -Math.log(1 - random()) / rate;

describe("quantile, median, mad", () => {
  it("interpolates between order statistics", () => {
    expect(quantile([0, 10], 0.25)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(mad([1, 1, 2, 2, 4, 6, 9])).toBe(1);
  });

  it("is monotone in q and bounded by min and max", () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (xs, q1, q2) => {
      const s = sortedCopy(xs);
      const [lo, hi] = q1 <= q2 ? [q1, q2] : [q2, q1];
      expect(quantile(s, lo)).toBeLessThanOrEqual(quantile(s, hi) + 1e-9);
      expect(quantile(s, lo)).toBeGreaterThanOrEqual(s[0]);
      expect(quantile(s, hi)).toBeLessThanOrEqual(s[s.length - 1]);
    }));
  });

  it("gives the MAD of a normal sample as 0.6745 σ", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.double({ min: 0.5, max: 100, noNaN: true }), (seed, sigma) => {
      const r = seededRandom(seed);
      const xs = Array.from({ length: 4000 }, () => normal(r, 50, sigma));
      expect(mad(xs) / sigma).toBeGreaterThan(0.6745 * 0.9);
      expect(mad(xs) / sigma).toBeLessThan(0.6745 * 1.1);
    }), { numRuns: 20 });
  });
});

describe("binomialHalfCdf and normalQuantile", () => {
  it("match values worked by hand and from tables", () => {
    expect(binomialHalfCdf(10, 1)).toBeCloseTo(11 / 1024, 12);
    expect(binomialHalfCdf(10, 10)).toBe(1);
    expect(binomialHalfCdf(3, -1)).toBe(0);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
  });
});

describe("medianInterval", () => {
  it("states the coverage it has, at least the level asked for", () => {
    for (const n of [6, 10, 31, 100]) {
      const ci = medianInterval(sortedCopy(Array.from({ length: n }, (_, i) => i)), 0.95);
      expect(ci.coverage).toBeGreaterThanOrEqual(0.95);
      expect(ci.low).toBeLessThanOrEqual((n - 1) / 2);
      expect(ci.high).toBeGreaterThanOrEqual((n - 1) / 2);
    }
    // Five values cannot give 95%: the whole range, with its true coverage 1 - 2/32.
    expect(medianInterval([1, 2, 3, 4, 5], 0.95)).toEqual({ low: 1, high: 5, level: 0.95, coverage: 1 - 2 / 32 });
  });

  it("covers the true median of exponential and normal samples as often as it claims", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 9, max: 61 }), fc.boolean(), (seed, n, useNormal) => {
      const r = seededRandom(seed);
      const trueMedian = useNormal ? 10 : Math.LN2 / 2;
      let covered = 0;
      const trials = 300;
      let claimed = 0;
      for (let t = 0; t < trials; t++) {
        const xs = Array.from({ length: n }, () => (useNormal ? normal(r, 10, 3) : exponential(r, 2)));
        const ci = medianInterval(sortedCopy(xs), 0.9);
        claimed = ci.coverage;
        if (ci.low <= trueMedian && trueMedian <= ci.high) covered++;
      }
      // Binomial slack: 4 standard errors below the claimed coverage.
      const se = Math.sqrt((claimed * (1 - claimed)) / trials);
      expect(covered / trials).toBeGreaterThan(claimed - 4 * se);
    }), { numRuns: 12 });
  });
});

describe("outlierIndices", () => {
  it("flags values injected far from a normal sample, and few others", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 20, max: 200 }), (seed, n) => {
      const r = seededRandom(seed);
      const xs = Array.from({ length: n }, () => normal(r, 100, 2));
      xs[3] = 200;
      xs[n - 1] = 10;
      const out = outlierIndices(xs);
      expect(out).toContain(3);
      expect(out).toContain(n - 1);
      // P(|z| > 3.5/0.6745·0.6745σ…) is tiny for a normal: at most a few false flags.
      expect(out.length).toBeLessThanOrEqual(2 + Math.ceil(n * 0.02));
    }));
  });

  it("with MAD 0, flags values more than 1% away from the median", () => {
    expect(outlierIndices([10, 10, 10, 10, 10.05, 12])).toEqual([5]);
  });
});

describe("summarize", () => {
  it("summarizes rounds", () => {
    const s = summarize([5, 1, 4, 2, 3, 100, 3, 3, 3, 2, 4]);
    expect(s).toMatchObject({ n: 11, min: 1, max: 100, median: 3, mad: 1 });
    expect(s.outliers).toEqual([5]);
    expect(s.p5).toBeCloseTo(1.5, 9);
  });
});

describe("ratioOfPairs", () => {
  it("gives the scale of a series scaled exactly, with the verdict its direction implies", () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 1, max: 1e4, noNaN: true }), { minLength: 8, maxLength: 60 }), fc.double({ min: 0.2, max: 5, noNaN: true }), (a, c) => {
      const r = ratioOfPairs(a, a.map((x) => x * c), 0.95, 0.01);
      expect(r.ratio).toBeCloseTo(c, 9);
      expect(r.ci.low).toBeCloseTo(c, 9);
      expect(r.ci.high).toBeCloseTo(c, 9);
      if (c > 1.0101) expect(r.verdict).toBe("slower");
      else if (c < 0.9899) expect(r.verdict).toBe("faster");
      else if (c > 0.9901 && c < 1.0099) expect(r.verdict).toBe("no significant difference");
    }));
  });

  it("calls two series from one distribution different no more often than 1 − level", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
      const r = seededRandom(seed);
      let different = 0;
      const trials = 400;
      for (let t = 0; t < trials; t++) {
        const a = Array.from({ length: 21 }, () => exponential(r) + 10);
        const b = Array.from({ length: 21 }, () => exponential(r) + 10);
        if (ratioOfPairs(a, b, 0.95, 0).verdict !== "no significant difference") different++;
      }
      expect(different / trials).toBeLessThan(0.05 + 4 * Math.sqrt((0.05 * 0.95) / trials));
    }), { numRuns: 5 });
  });

  it("detects a 20% slow-down in noisy pairs", () => {
    const r = seededRandom(7);
    const a = Array.from({ length: 31 }, () => normal(r, 100, 5));
    const b = Array.from({ length: 31 }, () => normal(r, 120, 5));
    expect(ratioOfPairs(a, b).verdict).toBe("slower");
    expect(ratioOfPairs(b, a).verdict).toBe("faster");
  });

  it("refuses series of different lengths", () => {
    expect(() => ratioOfPairs([1, 2], [1])).toThrow(RangeError);
  });
});

describe("ratioOfSamples", () => {
  it("finds the scale between independent samples and covers it", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.double({ min: 0.5, max: 2, noNaN: true }), (seed, c) => {
      const r = seededRandom(seed);
      const a = Array.from({ length: 41 }, () => normal(r, 100, 1));
      const b = Array.from({ length: 41 }, () => c * normal(r, 100, 1));
      const est = ratioOfSamples(a, b);
      expect(est.ratio).toBeGreaterThan(c * 0.99);
      expect(est.ratio).toBeLessThan(c * 1.01);
      expect(est.ci.low).toBeLessThanOrEqual(est.ratio);
      expect(est.ci.high).toBeGreaterThanOrEqual(est.ratio);
    }), { numRuns: 30 });
  });
});
