/**
 * Regions of a convergence test on the local stack: a database per node (PostgreSQL, or MariaDB where named),
 * created alike with the same seeded rows, and the topology run as `cdc run` child processes, one for capture
 * and one for apply, so either can be SIGKILLed and started again while the other goes on. Links are paused
 * and resumed through the apply process's API (`POST /workers/<from>-to-<to>/pause|resume`), as an operator
 * would cut a region off. Node names are unique per run (slots and replication origins are cluster-wide).
 */
import { writeFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { linkReplicaName, linkOriginName } from '../../../services/config/topology-compile.ts';
import { parseConfig } from '../../../services/config/load.ts';
import type { PipelineConfig } from '../../../services/config/schema.ts';
import { connectorTopics } from '../../../services/kafka/topics.ts';
import { deleteKafkaState } from '../../support/changelog.ts';
import { apiUrlOf, outputTail, startCli, whileAlive, type CliProcess } from '../../support/child-process.ts';
import {
  createMariadbDatabase,
  forgetMariadbAppliedPosition,
  mariadbAdminQuery,
} from '../../support/mariadb.ts';
import { adminQuery, createDatabase } from '../../support/pg.ts';
import { stack, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import type { NodeDatabase } from '../topology/harness.ts';

export type Role = 'capture' | 'apply';

export interface RegionLink {
  readonly from: string;
  readonly to: string;
}

export interface RegionsOptions {
  readonly label: string;
  readonly shape: 'pair' | 'mesh' | 'cascade';
  readonly nodes: readonly string[];
  readonly links: readonly RegionLink[];
  /** Nodes that are MariaDB databases (the rest are PostgreSQL). */
  readonly mariadb?: readonly string[];
  /** Runs on every node's database before the pipeline starts; every node must end up with the same rows. */
  readonly prepare: (database: NodeDatabase) => Promise<void>;
  /** Settings of every link's apply (a topology link's `apply`), e.g. conflict handling. */
  readonly linkApply?: Readonly<Record<string, unknown>>;
}

export interface Regions {
  readonly prefix: string;
  /** The configuration the processes run, as they parsed it. */
  readonly config: PipelineConfig;
  /** By short name (`a`, `b`...). */
  readonly nodes: Readonly<Record<string, NodeDatabase & { readonly name: string }>>;
  /** Apply worker names of the links, by `from>to` in short names. */
  readonly links: readonly (RegionLink & { readonly worker: string })[];
  /** The `cdc run` processes running now. */
  process(role: Role): CliProcess;
  /** SIGKILLs the role's process and starts it again (it resumes where its last commit left it). */
  killAndRestart(role: Role): Promise<void>;
  setLinkPaused(worker: string, paused: boolean): Promise<void>;
  /** Waits until every connector of the capture process streams and the apply process is ready. */
  waitStreaming(timeoutMs?: number): Promise<void>;
  /** The apply process's `/status` workers. */
  workers(): Promise<readonly WorkerState[]>;
  /** Every link's changes applied and none waiting: all workers running with no lag, twice in a row. */
  waitDrained(timeoutMs: number): Promise<void>;
  cleanup(): Promise<void>;
}

export interface WorkerState {
  readonly name: string;
  readonly state: string;
  readonly lagMillis: number | null;
  readonly eventsApplied: number;
  readonly lastError: string | null;
}

export async function startRegions(options: RegionsOptions): Promise<Regions> {
  const suffix = randomBytes(3).toString('hex');
  const prefix = uniqueName(options.label).replaceAll('_', '-');
  const mariadb = options.mariadb ?? [];
  const nodes: Record<string, NodeDatabase & { name: string }> = {};
  for (const short of options.nodes) {
    const database: NodeDatabase = mariadb.includes(short)
      ? { kind: 'mariadb', db: await createMariadbDatabase(`${options.label}_${short}`) }
      : { kind: 'postgres', db: await createDatabase(`${options.label}_${short}`) };
    await options.prepare(database);
    nodes[short] = { ...database, name: `${short}-${suffix}` };
  }
  const nameOf = (short: string): string => nodes[short]?.name ?? short;
  const [server] =
    mariadb.length > 0 ? await mariadbAdminQuery('SELECT @@server_id AS id, @@gtid_domain_id AS domain') : [];
  const config = {
    name: prefix,
    logLevel: 'info',
    kafka: { brokers: stack.kafkaBrokers, topicPrefix: prefix },
    topology: {
      shape: options.shape,
      nodes: options.nodes.map((short) => {
        const node = nodes[short] as NodeDatabase & { name: string };
        return node.kind === 'mariadb'
          ? {
              name: node.name,
              kind: 'mariadb',
              url: node.db.url,
              serverId: Number(server?.id),
              gtidDomainId: Number(server?.domain),
              capture: { heartbeatIntervalMs: 500, snapshot: 'never' },
            }
          : {
              name: node.name,
              kind: 'postgres',
              url: node.db.url,
              capture: { slot: uniqueName(`slot_${short}`), heartbeatIntervalMs: 500, snapshot: 'never' },
            };
      }),
      links: options.links.map((l) => ({
        from: nameOf(l.from),
        to: nameOf(l.to),
        ...(options.linkApply ? { apply: options.linkApply } : {}),
      })),
    },
    api: { host: '127.0.0.1', port: 0 },
  };
  const folder = await mkdtemp(join(tmpdir(), 'cdc-regions-'));
  const file = join(folder, 'pipeline.json');
  await writeFile(file, JSON.stringify(config, null, 2));
  const twoWay = options.shape !== 'cascade';
  const links = options.links.flatMap((l) => [
    { ...l, worker: linkReplicaName(nameOf(l.from), nameOf(l.to)) },
    ...(twoWay ? [{ from: l.to, to: l.from, worker: linkReplicaName(nameOf(l.to), nameOf(l.from)) }] : []),
  ]);

  const running: Record<Role, { child: CliProcess; api: string }> = {
    capture: await start(file, 'capture'),
    apply: await start(file, 'apply'),
  };
  // A process that is gone fails the call with its own last words, not a bare ECONNREFUSED.
  const call = async (role: Role, path: string, init: RequestInit = {}): Promise<Response> => {
    const { child, api } = running[role];
    try {
      return await whileAlive(child, `${init.method ?? 'GET'} ${path}`, fetch(`${api}${path}`, init));
    } catch (error) {
      throw new Error(
        `the ${role} process did not answer ${path}: ${String(error)}; its output ends with:\n${outputTail(child, 40)}`,
        { cause: error },
      );
    }
  };
  const post = async (path: string): Promise<void> => {
    const response = await call('apply', path, { method: 'POST' });
    if (!response.ok) throw new Error(`POST ${path} answered ${response.status}: ${await response.text()}`);
  };
  const workers = async (): Promise<readonly WorkerState[]> => {
    const response = await call('apply', '/status');
    const body = (await response.json()) as { workers?: WorkerState[] };
    if (body.workers === undefined)
      throw new Error(
        `the apply process answered /status with ${response.status} ${JSON.stringify(body)}; its output ends with:\n${outputTail(running.apply.child, 40)}`,
      );
    return body.workers;
  };

  return {
    prefix,
    config: parseConfig(JSON.stringify(config), 'json', { env: {} }),
    nodes,
    links,
    process: (role) => running[role].child,
    async killAndRestart(role) {
      await running[role].child.kill('SIGKILL');
      running[role] = await start(file, role);
    },
    setLinkPaused: (worker, paused) =>
      post(`/workers/${encodeURIComponent(worker)}/${paused ? 'pause' : 'resume'}`),
    workers,
    async waitStreaming(timeoutMs = 120_000) {
      await waitFor(
        'every connector to stream',
        async () => {
          const response = await call('capture', '/status');
          const { connectors } = (await response.json()) as { connectors: { state: string }[] };
          // The apply workers too: with conflict handling, a node's local deletes leave tombstones from then on.
          const applying = (await call('apply', '/ready')).ok;
          return applying && connectors.length > 0 && connectors.every((c) => c.state === 'streaming');
        },
        { timeoutMs, intervalMs: 250 },
      );
    },
    async waitDrained(timeoutMs) {
      let calm = 0;
      await waitFor(
        'every link to run with nothing left to apply',
        async () => {
          const now = await workers();
          const idle = now.every((w) => w.state === 'running' && w.lagMillis === 0);
          calm = idle ? calm + 1 : 0;
          return calm >= 3
            ? true
            : idle
              ? false
              : now.map((w) => `${w.name}:${w.state}:${w.lagMillis}`).join(' ');
        },
        { timeoutMs, intervalMs: 500 },
      );
    },
    async cleanup() {
      for (const role of ['capture', 'apply'] as const) {
        const child = running[role].child;
        // A process that does not stop on SIGTERM is a shutdown defect, not a convergence one: it is said
        // here and the process is killed, so the run's verdict stays about convergence.
        await child.kill('SIGTERM', 30_000).catch(async (error: unknown) => {
          console.log(`# the ${role} process did not stop within 30 s of SIGTERM; killed: ${String(error)}`);
          await child.kill('SIGKILL');
        });
      }
      await rm(folder, { recursive: true, force: true });
      for (const node of Object.values(nodes)) await node.db.drop();
      for (const link of links) {
        if (nodes[link.to]?.kind === 'mariadb') {
          await forgetMariadbAppliedPosition(nameOf(link.from));
          continue;
        }
        const origin = linkOriginName(nameOf(link.from), nameOf(link.to));
        await adminQuery(
          'SELECT pg_replication_origin_drop($1) WHERE pg_replication_origin_oid($1) IS NOT NULL',
          [origin],
        );
      }
      const feeding = [...new Set(links.map((l) => nameOf(l.from)))];
      await deleteKafkaState(
        [...new Set(feeding.flatMap((name) => Object.values<string>({ ...connectorTopics(prefix, name) })))],
        links.map((l) => `${prefix}.apply.${l.worker}`),
        prefix,
      );
    },
  };
}

/** A `cdc run --role <role>` child, once its API answers. */
async function start(file: string, role: Role): Promise<{ child: CliProcess; api: string }> {
  const child = startCli(['run', '--config', file, '--role', role]);
  try {
    return { child, api: await apiUrlOf(child, 120_000) };
  } catch (error) {
    await child.kill('SIGKILL');
    throw new Error(`cdc run --role ${role} did not start: ${outputTail(child)}`, { cause: error });
  }
}
