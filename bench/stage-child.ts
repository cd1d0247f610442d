/** A benchmark stage in a process of its own: started by stages-apart.ts with the stage's description. */
import { createLogger } from '../common/logger.ts';
import { applyStage, mariadbTarget, postgresTarget, type ApplyTarget } from './apply-stage.ts';
import { answerIfChild } from './apart.ts';
import { benchEnv } from './env.ts';
import { captureMariadb } from './mariadb-bench.ts';
import type { CaptureOutcome, StageResult } from './measure.ts';
import { capturePostgres } from './postgres-bench.ts';
import { STAGE_VARIABLE, type StageSpec, type TargetSpec } from './stages-apart.ts';

function applyTarget(spec: TargetSpec): ApplyTarget {
  return spec.kind === 'postgres'
    ? postgresTarget({ url: spec.url }, spec.table, spec.conflicts)
    : mariadbTarget(spec.url, spec.database, spec.table);
}

async function runStage(spec: StageSpec): Promise<CaptureOutcome | StageResult> {
  const logger = createLogger({ level: process.env.CDC_LOG_LEVEL ?? 'warn', name: 'bench' });
  switch (spec.kind) {
    case 'postgres-capture':
      return capturePostgres(benchEnv, spec, spec.slot, spec.prefix, spec.rows, logger, {
        ...(spec.snapshot ? { snapshot: spec.snapshot } : {}),
        ...(spec.stage ? { stage: spec.stage } : {}),
      });
    case 'mariadb-capture':
      return captureMariadb(benchEnv, spec.database, spec.from, spec.prefix, spec.rows, logger);
    case 'apply':
      return applyStage({
        stage: spec.stage,
        brokers: benchEnv.brokers,
        prefix: spec.prefix,
        connector: 'bench',
        changelog: spec.changelog,
        target: applyTarget(spec.target),
        rows: spec.rows,
        logger,
      });
  }
}

await answerIfChild(STAGE_VARIABLE, runStage);
