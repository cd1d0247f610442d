/**
 * The performance targets a catch-up row of `npm run bench` is held to, next to its figures. Each is a ratio to
 * the raw limit measured in the same run, a floor in rows/s, or both; every catch-up also has the memory target.
 */
import type { StageResult } from './measure.ts';

export interface Target {
  readonly text: string;
  met(result: StageResult): boolean;
}

/** Peak RSS every catch-up, and a 1,000,000-row source transaction, stays within. */
export const PEAK_RSS_TARGET_MB = 256;

const rowsPerSecond = (r: StageResult): number => r.rows / r.seconds;
const ratio = (r: StageResult): number => (r.rawSeconds === undefined ? 0 : r.rawSeconds / r.seconds);
const thousands = (n: number): string => `${n / 1000}k`;

function atLeast(share: number, floor?: number): Target {
  return {
    text: `≥ ${share * 100}% of the limit${floor === undefined ? '' : ` and ≥ ${thousands(floor)} rows/s`}`,
    met: (r) => ratio(r) >= share && (floor === undefined || rowsPerSecond(r) >= floor),
  };
}

export const targets = {
  postgresCapture: atLeast(0.65, 100_000),
  mariadbCapture: atLeast(0.4, 150_000),
  apply: atLeast(0.5),
  snapshot: { text: `≥ 200k rows/s`, met: (r: StageResult) => rowsPerSecond(r) >= 200_000 },
  memoryOnly: { text: '', met: () => true },
} satisfies Record<string, Target>;

/** The target's text with the memory target added, and whether the row meets both. */
export function judge(result: StageResult): { text: string; met: string } {
  if (result.target === undefined) return { text: '', met: '' };
  const memory = `peak RSS ≤ ${PEAK_RSS_TARGET_MB} MB`;
  const text = result.target.text === '' ? memory : `${result.target.text}; ${memory}`;
  const met = result.target.met(result) && result.peakRssMb <= PEAK_RSS_TARGET_MB;
  return { text, met: met ? 'yes' : 'no' };
}
