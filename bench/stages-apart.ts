/**
 * The catch-up stages of a benchmark, each run in a Node process of its own (apart.ts) so that its peak RSS,
 * CPU per row and event-loop share are its own: run one after another in the bench's process, an apply stage's
 * peak counted the heap the capture and snapshot stages before it had left behind. A stage is described by plain
 * data, which bench/stage-child.ts turns back into the stage in the child.
 */
import { fileURLToPath } from 'node:url';
import type { ConflictSettings } from '../services/apply/conflicts/types.ts';
import { runApart } from './apart.ts';
import type { CaptureOutcome, StageResult } from './measure.ts';

/** Where an apply stage writes (apply-stage.ts's targets, as data). */
export type TargetSpec =
  | {
      readonly kind: 'postgres';
      readonly url: string;
      /** Qualified name of the replicated table on the replica. */
      readonly table: string;
      readonly conflicts?: ConflictSettings;
    }
  | { readonly kind: 'mariadb'; readonly url: string; readonly database: string; readonly table: string };

export type StageSpec =
  | {
      readonly kind: 'postgres-capture';
      readonly url: string;
      readonly slot: string;
      readonly prefix: string;
      readonly rows: number;
      readonly snapshot?: 'initial';
      readonly stage?: string;
    }
  | {
      readonly kind: 'mariadb-capture';
      readonly database: string;
      /** GTID position before the bench rows. */
      readonly from: string;
      readonly prefix: string;
      readonly rows: number;
    }
  | {
      readonly kind: 'apply';
      readonly stage: string;
      readonly prefix: string;
      readonly changelog: string;
      readonly target: TargetSpec;
      readonly rows: number;
    };

/** The environment variable a child reads its stage from. */
export const STAGE_VARIABLE = 'BENCH_STAGE';

const child = fileURLToPath(new URL('./stage-child.ts', import.meta.url));

export function captureApart(
  spec: Extract<StageSpec, { kind: 'postgres-capture' | 'mariadb-capture' }>,
): Promise<CaptureOutcome> {
  return runApart<StageSpec, CaptureOutcome>(child, STAGE_VARIABLE, spec);
}

export function applyApart(spec: Extract<StageSpec, { kind: 'apply' }>): Promise<StageResult> {
  return runApart<StageSpec, StageResult>(child, STAGE_VARIABLE, spec);
}
