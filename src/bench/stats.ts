/**
 * Robust statistics over benchmark rounds: quantiles, the median absolute deviation, a
 * distribution-free confidence interval for the median (order statistics of the binomial sign
 * test), outlier rounds by modified z-score, and the ratio of two interleaved series with its
 * confidence interval. Pure: no kernel, no clock, no randomness except a seeded generator.
 */

/** Quantile `q` (0..1) of ascending `sorted` by linear interpolation (Hyndman–Fan type 7). */
export function quantile(sorted: readonly number[], q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError("quantile: no values");
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** The values in ascending order (a copy). */
export function sortedCopy(values: readonly number[]): number[] {
  return Array.from(Float64Array.from(values).sort());
}

/** The median of `values` (need not be sorted). */
export function median(values: readonly number[]): number {
  return quantile(sortedCopy(values), 0.5);
}

/** The median absolute deviation from the median (unscaled: multiply by 1.4826 for σ of a normal). */
export function mad(values: readonly number[]): number {
  const m = median(values);
  return median(values.map((x) => Math.abs(x - m)));
}

/** Natural log of the binomial coefficient C(n, k). */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
export function binomialHalfCdf(n: number, k: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  let p = 0;
  const logHalfN = n * Math.log(0.5);
  for (let i = 0; i <= k; i++) p += Math.exp(logChoose(n, i) + logHalfN);
  return Math.min(1, p);
}

/** A confidence interval: `[low, high]` covers the true value with probability ≥ `level`. */
export interface Interval {
  readonly low: number;
  readonly high: number;
  /** The confidence level asked for (e.g. 0.95). */
  readonly level: number;
  /** The coverage this interval actually has (order-statistic intervals are conservative: ≥ level). */
  readonly coverage: number;
}

/**
 * The order-statistic confidence interval for the median of `sorted` (ascending): the k-th
 * smallest and k-th largest values, with the largest k whose sign-test coverage
 * 1 − 2·P(X < k), X ~ Bin(n, ½), is still ≥ `level`. Distribution-free: it assumes only
 * independent rounds. With too few values for the level (n < 6 at 0.95) it is the whole
 * range `[min, max]`, with its real coverage.
 */
export function medianInterval(sorted: readonly number[], level: number): Interval {
  const n = sorted.length;
  if (n === 0) throw new RangeError("medianInterval: no values");
  if (!(level > 0 && level < 1)) throw new RangeError(`medianInterval: level must be in (0, 1), got ${level}`);
  // Coverage of [x_(k), x_(n+1-k)] (1-based) is 1 - 2 P(X ≤ k-1).
  let k = 1;
  while (k + 1 <= Math.floor((n + 1) / 2) && 1 - 2 * binomialHalfCdf(n, k) >= level) k++;
  const coverage = 1 - 2 * binomialHalfCdf(n, k - 1);
  return { low: sorted[k - 1], high: sorted[n - k], level, coverage };
}

/** Modified z-score above which a round is an outlier (Iglewicz and Hoaglin's 3.5). */
export const OUTLIER_Z = 3.5;

/**
 * Indices of outlier values: modified z-score 0.6745·|x − median| / MAD above `OUTLIER_Z`.
 * When more than half the values are equal (MAD 0), a value is an outlier when it differs
 * from the median by more than 1% of it.
 */
export function outlierIndices(values: readonly number[]): number[] {
  if (values.length < 3) return [];
  const m = median(values);
  const d = mad(values);
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const dev = Math.abs(values[i] - m);
    const isOut = d > 0 ? (0.6745 * dev) / d > OUTLIER_Z : dev > Math.abs(m) * 0.01;
    if (isOut) out.push(i);
  }
  return out;
}

/** A summary of benchmark rounds. Times in ns per run. */
export interface Summary {
  /** Number of rounds. */
  readonly n: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly median: number;
  /** 5th and 95th percentiles. */
  readonly p5: number;
  readonly p95: number;
  /** Median absolute deviation (unscaled). */
  readonly mad: number;
  /** Order-statistic confidence interval of the median. */
  readonly medianCi: Interval;
  /** Indices (into the rounds) of the rounds flagged as outliers. */
  readonly outliers: readonly number[];
}

/** Summarize `values` with a confidence interval at `level` (default 0.95). */
export function summarize(values: readonly number[], level = 0.95): Summary {
  if (values.length === 0) throw new RangeError("summarize: no values");
  const sorted = sortedCopy(values);
  let sum = 0;
  for (const v of values) sum += v;
  return {
    n: values.length,
    min: sorted[0],
    max: sorted[sorted.length - 1],
    mean: sum / values.length,
    median: quantile(sorted, 0.5),
    p5: quantile(sorted, 0.05),
    p95: quantile(sorted, 0.95),
    mad: mad(values),
    medianCi: medianInterval(sorted, level),
    outliers: outlierIndices(values),
  };
}

/** What a comparison of B against A found. */
export type Verdict = "faster" | "slower" | "no significant difference";

/** The ratio B/A of two interleaved series, with its interval and verdict. */
export interface RatioEstimate {
  /** B's time over A's: 1.10 means B takes 10% longer. The median of the per-pair ratios. */
  readonly ratio: number;
  /** Confidence interval of the ratio (order statistics of the per-pair ratios). */
  readonly ci: Interval;
  /**
   * `"slower"` when the whole interval is above 1 and the ratio at least `1 + minDifference`,
   * `"faster"` when the whole interval is below 1 and the ratio at most `1 − minDifference`,
   * otherwise `"no significant difference"`. It is B's verdict against A.
   */
  readonly verdict: Verdict;
  /** Pairs in which both times were positive (the others carry no ratio). */
  readonly pairs: number;
}

/**
 * Compare paired rounds: `a[i]` and `b[i]` were measured back to back, so each ratio
 * `b[i]/a[i]` cancels the drift of the machine. The ratio is the median of the per-pair ratios;
 * its interval is the sign-test interval of that median, which holds for any distribution
 * whose pairs are exchangeable under "no difference" (run each pair in random order).
 * `minDifference` (default 0.01) is the smallest relative difference reported as faster or
 * slower: below it a difference is real but too small to act on.
 */
export function ratioOfPairs(a: readonly number[], b: readonly number[], level = 0.95, minDifference = 0.01): RatioEstimate {
  if (a.length !== b.length) throw new RangeError(`ratioOfPairs: ${a.length} values of A but ${b.length} of B`);
  if (!(minDifference >= 0 && minDifference < 1)) throw new RangeError(`ratioOfPairs: minDifference must be in [0, 1), got ${minDifference}`);
  const logs: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] > 0 && b[i] > 0) logs.push(Math.log(b[i] / a[i]));
  }
  if (logs.length === 0) throw new RangeError("ratioOfPairs: no pair of positive times");
  const sorted = sortedCopy(logs);
  const ci = medianInterval(sorted, level);
  const ratio = Math.exp(quantile(sorted, 0.5));
  const low = Math.exp(ci.low);
  const high = Math.exp(ci.high);
  let verdict: Verdict = "no significant difference";
  if (low > 1 && ratio >= 1 + minDifference) verdict = "slower";
  else if (high < 1 && ratio <= 1 - minDifference) verdict = "faster";
  return { ratio, ci: { low, high, level, coverage: ci.coverage }, verdict, pairs: logs.length };
}

/**
 * A small seeded generator (mulberry32): the order of each A/B pair is drawn from it, so a
 * comparison can be replayed. Returns a function giving floats in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The standard normal quantile Φ⁻¹(p) (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** Largest sample a side may have in `ratioOfSamples` (its work grows with the product of the sizes). */
export const MAX_UNPAIRED_SAMPLE = 1000;

/**
 * The ratio of two independent series (e.g. today's rounds against a baseline's): the
 * Hodges–Lehmann estimate of the shift of log times — the median of all log(b[j]/a[i]) — with
 * the Mann–Whitney confidence interval of that shift (normal approximation; a pair count of
 * fewer than 4 per side gives the whole range). Verdict as in `ratioOfPairs`.
 */
export function ratioOfSamples(a: readonly number[], b: readonly number[], level = 0.95, minDifference = 0.01): RatioEstimate {
  const la = a.filter((x) => x > 0).map(Math.log);
  const lb = b.filter((x) => x > 0).map(Math.log);
  if (la.length === 0 || lb.length === 0) throw new RangeError("ratioOfSamples: each side needs a positive time");
  if (la.length > MAX_UNPAIRED_SAMPLE || lb.length > MAX_UNPAIRED_SAMPLE) throw new RangeError(`ratioOfSamples: at most ${MAX_UNPAIRED_SAMPLE} values a side`);
  if (!(level > 0 && level < 1)) throw new RangeError(`ratioOfSamples: level must be in (0, 1), got ${level}`);
  const diffs: number[] = [];
  for (const x of la) for (const y of lb) diffs.push(y - x);
  const sorted = sortedCopy(diffs);
  const n = la.length;
  const m = lb.length;
  const N = sorted.length;
  const z = normalQuantile(1 - (1 - level) / 2);
  // The k-th smallest and k-th largest differences bound the shift (Mann–Whitney critical value).
  const k = Math.floor((n * m) / 2 - z * Math.sqrt((n * m * (n + m + 1)) / 12));
  const kk = Math.max(1, k);
  const low = Math.exp(sorted[Math.min(N - 1, kk - 1)]);
  const high = Math.exp(sorted[Math.max(0, N - kk)]);
  const ratio = Math.exp(quantile(sorted, 0.5));
  let verdict: Verdict = "no significant difference";
  if (low > 1 && ratio >= 1 + minDifference) verdict = "slower";
  else if (high < 1 && ratio <= 1 - minDifference) verdict = "faster";
  return { ratio, ci: { low, high, level, coverage: k >= 1 ? level : 1 }, verdict, pairs: N };
}
