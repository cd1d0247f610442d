/**
 * The capture side of marker-row origin marking (services/apply/origin-marks.ts): a PostgreSQL node that a link
 * may mark with marker rows must publish cdc_apply.origin_marks, or its capture never sees the marks and sends
 * the link's writes back (a loop). Before the connector starts, the table is created (the node's one user both
 * captures and applies, so it owns it either way) and put into the node's publication: created with it when the
 * connector would create the publication, added to one that exists without it. The table stays out of the
 * source's `tables`, so verify and snapshots of the replicated tables do not count it; its events never leave
 * the origin filter. Under `originMarking: auto` a user that may use replication origins marks natively, and
 * the publication is left as it is.
 */
import pg from 'pg';
import { CdcError, asCdcError } from '../../common/errors.ts';
import { Backoff } from '../../common/retry.ts';
import { publicationTargetSql } from '../../connectors/postgres/replication/publication.ts';
import { LOCAL_COMMIT_OPTION, quoteIdent } from '../../connectors/postgres/types/pg-sql.ts';
import {
  ORIGIN_MARKS,
  ORIGIN_MARKS_SCHEMA,
  ORIGIN_MARKS_TABLE,
  POSTGRES_ORIGIN_MARKS_DDL,
} from '../apply/origin-marks.ts';
import { userWithoutOrigins } from './topology-origins.ts';
import { postgresConnectOptions } from '../../common/connect/postgres-url.ts';

export interface MarkerCaptureSource {
  readonly name: string;
  readonly url: string;
  readonly publication: string;
  readonly createPublication: boolean;
  readonly tables: readonly string[];
}

export async function prepareMarkerCapture(
  source: MarkerCaptureSource,
  marking: 'marker-row' | 'auto',
): Promise<void> {
  // The publication change must not wait for a synchronous capture that is not streaming (as the capture's own).
  const client = new pg.Client({
    ...postgresConnectOptions(source.url),
    options: LOCAL_COMMIT_OPTION,
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  try {
    // The node's one user both captures and applies: the links into it decide the same way (topology-origins.ts).
    if (marking === 'auto' && (await userWithoutOrigins(client)) === null) return;
    await createMarkerTable(client);
    const publication = quoteIdent(source.publication);
    const exists = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [
      source.publication,
    ]);
    if (exists.rowCount === 0) {
      const create = `CREATE PUBLICATION ${publication} ${publicationTargetSql([...source.tables, ORIGIN_MARKS])}`;
      if (!source.createPublication)
        throw new CdcError(
          'SOURCE_NOT_CONFIGURED',
          `publication "${source.publication}" does not exist: create it with the origin marker table links into node ${source.name} may write (${create}) or set createPublication: true`,
          { publication: source.publication },
        );
      await run(client, create, source);
      return;
    }
    const included = await client.query(
      'SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3',
      [source.publication, ORIGIN_MARKS_SCHEMA, ORIGIN_MARKS_TABLE],
    );
    if (included.rowCount === 0)
      await run(client, `ALTER PUBLICATION ${publication} ADD TABLE ${ORIGIN_MARKS}`, source);
  } finally {
    await client.end();
  }
}

/** Idempotent DDL that a link's sink may be running at the same moment: a lost race is run again. */
async function createMarkerTable(client: pg.Client): Promise<void> {
  const backoff = new Backoff({ initialMs: 50, maxMs: 1_000 });
  for (;;) {
    try {
      for (const text of POSTGRES_ORIGIN_MARKS_DDL) await client.query(text);
      return;
    } catch (error) {
      if (backoff.attempts >= 5)
        throw asCdcError(error, 'SOURCE_NOT_CONFIGURED', `cannot create ${ORIGIN_MARKS} for origin marks`);
      await Backoff.sleep(backoff.next(), AbortSignal.timeout(5_000));
    }
  }
}

async function run(client: pg.Client, statement: string, source: MarkerCaptureSource): Promise<void> {
  try {
    await client.query(statement);
  } catch (error) {
    throw asCdcError(
      error,
      'SOURCE_PRIVILEGE',
      `node ${source.name} must publish ${ORIGIN_MARKS}, where links into it mark their writes, and the user cannot: run ${statement} as the publication's owner`,
      { publication: source.publication },
    );
  }
}
