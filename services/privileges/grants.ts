/**
 * The least privilege each role of a pipeline needs, as SQL an administrator runs once (`cdc grants`): the
 * capture user of each source and the writing user of each replica, both taken from the configured URLs.
 * Nothing here connects to a database; the statements are made from the configuration alone, so they can be
 * reviewed before anyone runs them. Roles themselves are not created (their passwords are the
 * administrator's business): the block says which role it needs and with which attributes.
 */
import type { PipelineConfig, ReplicaConfig, SourceConfig } from '../config/schema.ts';
import { mariadbCaptureGrants, mariadbWriterGrants } from './mariadb.ts';
import { postgresCaptureGrants, postgresWriterGrants } from './postgres.ts';

export interface GrantBlock {
  /** The source or replica it is for. */
  readonly name: string;
  /** `capture of source <name>`, `writer of replica <name>`. */
  readonly title: string;
  readonly server: 'postgres' | 'mariadb';
  /** The user the grants are for, as the URL names it. */
  readonly user: string;
  /** Lines of SQL comments before the statements: what the role is, what the grants allow. */
  readonly notes: readonly string[];
  readonly statements: readonly string[];
}

export function grantBlocks(config: PipelineConfig): GrantBlock[] {
  return [
    ...config.sources.map((source) => captureBlock(source)),
    ...config.replicas.map((replica) => {
      const source = config.sources.find((s) => s.name === replica.source);
      if (source === undefined) throw new Error(`replica ${replica.name} names no source`);
      return writerBlock(replica, source);
    }),
  ];
}

function captureBlock(source: SourceConfig): GrantBlock {
  return source.kind === 'postgres' ? postgresCaptureGrants(source) : mariadbCaptureGrants(source);
}

function writerBlock(replica: ReplicaConfig, source: SourceConfig): GrantBlock {
  return replica.kind === 'postgres'
    ? postgresWriterGrants(replica, source)
    : mariadbWriterGrants(replica, source);
}

/** The blocks as one SQL text, `-- ` comments before each block's statements. */
export function formatGrants(blocks: readonly GrantBlock[]): string {
  return blocks
    .map((block) =>
      [
        `-- ${block.title}: ${block.server === 'postgres' ? 'PostgreSQL' : 'MariaDB/MySQL'} user ${block.user}`,
        ...block.notes.map((note) => `--   ${note}`),
        ...block.statements.map((statement) => `${statement};`),
      ].join('\n'),
    )
    .join('\n\n');
}

/** The user a connection URL names, decoded as the drivers decode it. */
export function userOf(url: string): string {
  return decodeURIComponent(new URL(url).username);
}

/** `schema.table` patterns split; `*` and a trailing `*` are wildcards. */
export function splitPattern(pattern: string): { readonly schema: string; readonly table: string } {
  const dot = pattern.indexOf('.');
  return { schema: pattern.slice(0, dot), table: pattern.slice(dot + 1) };
}

/** The schemas (MariaDB: databases) the source's table patterns name, wildcards left out. */
export function sourceSchemas(source: SourceConfig): string[] {
  const schemas = source.tables
    .map((pattern) => splitPattern(pattern).schema)
    .filter((schema) => schema !== '' && !schema.includes('*'));
  return [...new Set(schemas)];
}
