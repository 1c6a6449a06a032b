/** The `p`-th percentile (0-100) of ascending `sorted` values (0 for none): what the benchmarks report. */
export function pct(sorted: readonly number[], p: number): number {
  return sorted.length === 0
    ? 0
    : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
}
