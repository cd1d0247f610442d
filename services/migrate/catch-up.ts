/**
 * "The replica has everything up to the fence", read from where each side keeps its durable truth, so the
 * check needs no access to the running pipeline:
 * - capture: the published point the publisher stores with every Kafka transaction (offset metadata of the
 *   group `<prefix>.capture.<source>`): its commit covers the fence's GTID position once every source
 *   transaction up to the fence was published (heartbeats included);
 * - apply: the position the PostgreSQL sink stores in the replica with the rows (`cdc_apply.applied_position`):
 *   once it reached the last published event, every published change is on the replica.
 */
import pg from 'pg';
import {
  parseMariadbPosition,
  mariadbPositionContains,
  type MariadbGtidPosition,
} from '../../schemas/positions/mariadb-gtid.ts';
import {
  comparePosition,
  formatCommit,
  formatPosition,
  parseCommit,
  parsePosition,
  type CommitPosition,
  type EventPosition,
} from '../../schemas/positions/position.ts';
import { asCdcError } from '../../common/errors.ts';
import type { KafkaConfig } from '../config/schema.ts';
import { createKafka } from '../kafka/client.ts';
import { connectorTopics } from '../kafka/topics.ts';
import { positionRows } from '../apply/position-rows.ts';
import { clusterOf } from '../kafka/security.ts';
import { postgresConnectOptions } from '../../common/connect/postgres-url.ts';

export interface PublishedPoint {
  /** Last event published to the changelog. */
  readonly position: EventPosition | null;
  /** Last source commit published (a transaction or a heartbeat). */
  readonly commit: CommitPosition | null;
}

export async function readPublished(kafka: KafkaConfig, source: string): Promise<PublishedPoint> {
  const topic = connectorTopics(kafka.topicPrefix, source).changelog;
  const groupId = `${kafka.topicPrefix}.capture.${source}`;
  const admin = createKafka({ ...clusterOf(kafka), clientId: `${kafka.clientId}.migrate` }).admin();
  try {
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    const partition = offsets.find((entry) => entry.topic === topic)?.partitions[0];
    const metadata = partition?.metadata ?? null;
    if (metadata === null || metadata === '') return { position: null, commit: null };
    const stored = JSON.parse(metadata) as { position?: unknown; commit?: unknown };
    return {
      position: typeof stored.position === 'string' ? parsePosition(stored.position) : null,
      commit: typeof stored.commit === 'string' ? parseCommit(stored.commit) : null,
    };
  } catch (error) {
    throw asCdcError(error, 'KAFKA_UNAVAILABLE', `cannot read the published position of ${source}`, {
      group: groupId,
    });
  } finally {
    await admin.disconnect();
  }
}

const TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/**
 * The source position the replica committed last for `stream`, or null before its first transaction;
 * `targetSchema` is the replica's, which scopes the row (apply/position-rows.ts).
 */
export async function readApplied(
  replicaUrl: string,
  stream: string,
  targetSchema: string | undefined,
): Promise<EventPosition | null> {
  const client = new pg.Client({ ...postgresConnectOptions(replicaUrl), types: TEXT });
  try {
    await client.connect();
    const exists = await client.query<{ table: string | null }>(
      `SELECT to_regclass('cdc_apply.applied_position')::text AS table`,
    );
    if (exists.rows[0]?.table === null) return null;
    for (const row of positionRows(stream, targetSchema)) {
      const result = await client.query<{ position: string }>(
        'SELECT position FROM cdc_apply.applied_position WHERE stream = $1',
        [row],
      );
      const text = result.rows[0]?.position;
      if (text !== undefined) return parsePosition(text);
    }
    return null;
  } catch (error) {
    throw asCdcError(error, 'TARGET_UNREACHABLE', `cannot read the applied position of ${stream}`);
  } finally {
    await client.end();
  }
}

/** Has the published commit passed every transaction of `fence`? */
export function commitCovers(commit: CommitPosition | null, fence: MariadbGtidPosition): boolean {
  if (commit === null || commit.kind !== 'binlog' || commit.flavor !== 'mariadb')
    return fence.gtids.length === 0;
  const published = parseMariadbPosition(commit.gtidSet);
  return fence.gtids.every((gtid) => mariadbPositionContains(published, gtid));
}

/** Has the replica applied the last published event? */
export function appliedReaches(applied: EventPosition | null, published: EventPosition | null): boolean {
  if (published === null) return true;
  return applied !== null && comparePosition(applied, published) >= 0;
}

export function describePosition(position: EventPosition | CommitPosition | null): string {
  if (position === null) return 'nothing yet';
  return 'commit' in position ? formatPosition(position) : formatCommit(position);
}
