/**
 * The cutover, as one ordered procedure:
 *   fence the old source → read its final GTID position → wait until the replica applied everything up to it
 *   (lag zero at the fence) → final verify → create the takeover point (publication and slot on PostgreSQL)
 *   → record it on the target.
 * The running `migrate start` sees the record and stops capturing from the old source. If any step fails, the
 * fence this cutover set is released and nothing is recorded: the old source stays the primary.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { formatMariadbPosition } from '../../schemas/positions/mariadb-gtid.ts';
import { CdcError, errorMessage } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { verifyReplica, type VerifyReport } from '../verify/verify-replica.ts';
import { appliedReaches, commitCovers, describePosition, readApplied, readPublished } from './catch-up.ts';
import { readCutover, writeCutover, type CutoverRecord } from './cutover-record.ts';
import type { MigrationPlan } from './plan.ts';
import { SourceFence } from './source-fence.ts';
import { createTakeoverPoint } from './takeover.ts';
import pg from 'pg';
import { postgresConnectOptions } from '../../common/connect/postgres-url.ts';

export type FenceMode = CutoverRecord['fence'];

export interface CutoverOptions {
  /** `read-only`: the cutover sets the source read-only; `operator`: writers were stopped by the operator. */
  readonly fence: FenceMode;
  /** How long the replica may take to reach the fence position (default 120 s). */
  readonly timeoutMs?: number;
  /** Pause between fence ticks while the capture has not passed the fence (default 1 s). */
  readonly tickIntervalMs?: number;
  readonly logger?: Logger;
  /** Progress lines for a terminal. */
  readonly onProgress?: (line: string) => void;
}

export interface CutoverReport {
  readonly record: CutoverRecord;
  readonly verify: VerifyReport;
  /** From the fence to lag zero. */
  readonly catchUpMs: number;
}

export async function cutover(plan: MigrationPlan, options: CutoverOptions): Promise<CutoverReport> {
  const logger = (options.logger ?? silentLogger).child({ migration: plan.name });
  const progress = options.onProgress ?? (() => undefined);
  const earlier = await readCutover(plan.replica.url, plan.name);
  if (earlier !== null) {
    throw new CdcError(
      'MIGRATION_STATE',
      `${plan.name} was already cut over at ${earlier.at} (source ${earlier.sourceGtid}, target LSN ${earlier.targetLsn})`,
      { migration: plan.name },
    );
  }
  const fence = await SourceFence.open(plan.source.url, plan.name);
  let slotCreated: string | null = null;
  try {
    if (options.fence === 'read-only') {
      await fence.setReadOnly();
      progress('fence: source set read-only (SET GLOBAL read_only = ON)');
    } else {
      progress('fence: the operator confirmed that writers on the source are stopped');
    }
    await fence.tick();
    const final = await fence.binlogPosition();
    const sourceGtid = formatMariadbPosition(final);
    progress(`source final GTID position: ${sourceGtid}`);

    const started = Date.now();
    await waitForFence(plan, fence, final, options, progress);
    const catchUpMs = Date.now() - started;
    progress(`replica reached the fence: lag 0 ms (waited ${catchUpMs} ms)`);

    const verify = await verifyReplica(plan.config, { replica: plan.replica.name }, { logger });
    if (!verify.equal) {
      const differing = [
        ...verify.tables.filter((table) => !table.equal).map((table) => table.table),
        ...verify.failures.map((failure) => failure.table),
      ];
      throw new CdcError(
        'CUTOVER_FAILED',
        `final verify found differences at the fence in ${differing.join(', ')}; run cdc migrate verify for the details`,
        { migration: plan.name },
      );
    }
    progress(`final verify: EQUAL (${verify.tables.length} tables)`);

    const takeover = await createTakeoverPoint(plan);
    slotCreated = takeover.slot;
    await writeCutover(plan.replica.url, {
      migration: plan.name,
      sourceGtid,
      targetLsn: takeover.lsn,
      slot: takeover.slot,
      publication: takeover.publication,
      fence: options.fence,
    });
    const record = await readCutover(plan.replica.url, plan.name);
    if (record === null) throw new CdcError('INTERNAL', `the cutover record of ${plan.name} vanished`, {});
    logger.info({ sourceGtid, targetLsn: takeover.lsn }, 'cutover recorded');
    return { record, verify, catchUpMs };
  } catch (error) {
    const undone = await undo(plan, fence, slotCreated, logger);
    if (error instanceof CdcError && error.code !== 'INTERNAL' && error.code !== 'CUTOVER_FAILED') {
      throw new CdcError(error.code, `${error.message}; ${undone}`, error.fields, { cause: error });
    }
    throw new CdcError(
      'CUTOVER_FAILED',
      `${errorMessage(error)}; ${undone}`,
      { migration: plan.name },
      {
        cause: error,
      },
    );
  } finally {
    await fence.close();
  }
}

/** Polls both durable positions until the fence is applied; ticks keep the capture moving meanwhile. */
async function waitForFence(
  plan: MigrationPlan,
  fence: SourceFence,
  final: Parameters<typeof commitCovers>[1],
  options: CutoverOptions,
  progress: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const tickEvery = options.tickIntervalMs ?? 1_000;
  let lastTick = Date.now();
  let lastReport = 0;
  for (;;) {
    const published = await readPublished(plan.config.kafka, plan.source.name);
    const captured = commitCovers(published.commit, final);
    const applied = captured
      ? await readApplied(
          plan.replica.url,
          plan.source.name,
          plan.replica.kind === 'postgres' ? plan.replica.targetSchema : undefined,
        )
      : null;
    if (captured && appliedReaches(applied, published.position)) return;
    const waiting = captured
      ? `apply at ${describePosition(applied)}, last published ${describePosition(published.position)}`
      : `capture published ${describePosition(published.commit)}`;
    if (Date.now() > deadline) {
      throw new CdcError(
        'CUTOVER_FAILED',
        `the replica did not reach the fence position within ${options.timeoutMs ?? 120_000} ms (${waiting}); is cdc migrate start running?`,
        { migration: plan.name },
      );
    }
    if (Date.now() - lastReport >= 2_000) {
      progress(`waiting for the replica: ${waiting}`);
      lastReport = Date.now();
    }
    if (!captured && Date.now() - lastTick >= tickEvery) {
      await fence.tick();
      lastTick = Date.now();
    }
    await delay(200);
  }
}

/** Releases what a failed cutover set up; says what it did, for the error message. */
async function undo(
  plan: MigrationPlan,
  fence: SourceFence,
  slot: string | null,
  logger: Logger,
): Promise<string> {
  const done: string[] = [];
  if (slot !== null) {
    try {
      const client = new pg.Client({ ...postgresConnectOptions(plan.replica.url) });
      await client.connect();
      await client.query('SELECT pg_drop_replication_slot($1)', [slot]).finally(() => client.end());
      done.push(`slot ${slot} dropped`);
    } catch (error) {
      logger.error({ err: error, slot }, 'cannot drop the takeover slot of a failed cutover');
      done.push(`slot ${slot} could NOT be dropped (${errorMessage(error)})`);
    }
  }
  if (fence.readOnlySet) {
    try {
      await fence.releaseReadOnly();
      done.push('the source is writable again (read_only = OFF)');
    } catch (error) {
      logger.error({ err: error }, 'cannot release the write fence of a failed cutover');
      done.push(`the source is STILL read-only: run SET GLOBAL read_only = OFF (${errorMessage(error)})`);
    }
  } else {
    done.push('no fence was set by the cutover');
  }
  return `cutover abandoned: ${done.join(', ')}; the old source remains the primary`;
}
