/** Small statistics helpers of the benchmark: quantiles of samples, and a figure summarised over repeated runs. */

/** The q-quantile (0..1) of `sorted` (ascending), by the nearest-rank method; NaN when empty. */
export function quantileSorted(sorted, q) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/** p50 and p99 (and the count) of `samples` (an array or a typed array; left unsorted). */
export function latencySummary(samples) {
  const sorted = Float64Array.from(samples).sort();
  return { count: sorted.length, p50: quantileSorted(sorted, 0.5), p99: quantileSorted(sorted, 0.99), max: sorted.length > 0 ? sorted[sorted.length - 1] : NaN };
}

/** The median, minimum, maximum and count of the finite values of `values` (one per repeated run). */
export function spread(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = v.length / 2;
  const median = v.length % 2 === 1 ? v[Math.floor(mid)] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

/**
 * The spread of the per-round ratios `field` of `num` ÷ `den`: two configurations' runs of the same rounds,
 * index by index (each round runs every configuration once, so slow drift of a shared machine, which a ratio
 * of medians taken over different rounds keeps, cancels in each round's ratio), up to the shorter list.
 */
export function pairedRatios(num, den, field) {
  const n = Math.min(num.length, den.length);
  const ratios = [];
  for (let i = 0; i < n; i++) ratios.push(num[i][field] / den[i][field]);
  const sorted = ratios.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return { ...spread(ratios), ci95: medianInterval(sorted) };
}

/**
 * A distribution-free interval of at least 95 % confidence for the median of what `sorted` (ascending) samples:
 * [x(k), x(n−k+1)] with the largest k whose binomial tail P(Bin(n, ½) < k) is at most 2.5 % (n = 15: the 4th
 * and 12th values, 96.5 %). Undefined below 6 samples, where no such interval exists.
 */
export function medianInterval(sorted) {
  const n = sorted.length;
  if (n < 6) return undefined;
  let k = 0;
  let tail = 0; // P(Bin(n, ½) ≤ k − 1)
  let choose = 1; // C(n, k)
  const half = 0.5 ** n;
  while (tail + choose * half <= 0.025) {
    tail += choose * half;
    choose = (choose * (n - k)) / (k + 1);
    k++;
  }
  return [sorted[k - 1], sorted[n - k]];
}

/** Least-squares slope of `ys` over `xs` (units of y per unit of x); 0 with fewer than two points. */
export function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * The order in which round `round` runs `configs`: rotated by `step`·round, and reversed every other round, so
 * that drift spreads over all of them and no configuration always runs right after the same one (what a
 * configuration leaves behind — an exporter's last batch, a collector still reading — would then always fall
 * on the same neighbour).
 */
export function roundOrder(configs, round, step = 1) {
  const rotated = configs.map((_, i) => configs[(i + round * step) % configs.length]);
  return round % 2 === 1 ? rotated.reverse() : rotated;
}
