/**
 * The parts of a two-region test beyond the local stack: the second Kafka cluster (stack/kafka2.sh, started on
 * demand and stopped after the test) and MirrorMaker 2 in dedicated mode between the two clusters
 * (stack/mirror-maker.sh), as a child process stopped with SIGTERM. Its jars come from stack/install.sh.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createKafka } from '../../../services/kafka/client.ts';
import { REPO_ROOT } from '../../support/child-process.ts';
import { waitFor } from '../../support/wait.ts';

const run = promisify(execFile);
const STACK = join(REPO_ROOT, 'stack');
const RUN_DIR = join(STACK, '.run');

export const secondKafkaBrokers = (
  process.env.CDC_KAFKA2_BROKERS ?? `127.0.0.1:${process.env.CDC_KAFKA2_PORT ?? '59192'}`
).split(',');

async function stackScript(script: string, ...args: string[]): Promise<void> {
  await run('bash', [join(STACK, script), ...args], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
}

/** Whether MirrorMaker 2's jars are installed, installing them when not; a reason when they cannot be. */
export async function mirrorMakerMissing(): Promise<string | null> {
  const present = () => {
    const cache = join(STACK, '.cache');
    if (!existsSync(cache)) return false;
    return readdirSync(cache).some((version) => {
      const libs = join(cache, version, 'mirror-libs');
      return existsSync(libs) && readdirSync(libs).some((jar) => jar.startsWith('connect-mirror-'));
    });
  };
  if (present()) return null;
  try {
    await stackScript('install.sh');
  } catch (error) {
    return `stack/install.sh could not install MirrorMaker 2's jars: ${(error as Error).message}`;
  }
  return present() ? null : 'stack/install.sh ran but installed no MirrorMaker 2 jars';
}

export const startSecondKafka = (): Promise<void> => stackScript('kafka2.sh', 'start');
export const stopSecondKafka = (): Promise<void> => stackScript('kafka2.sh', 'stop');

export interface MirrorFlow {
  /** Cluster aliases; the default replication policy names a mirrored topic `<from>.<topic>`. */
  readonly from: string;
  readonly to: string;
  /** Regular expression of the topics mirrored (whole names). */
  readonly topics: string;
}

export interface MirrorMakerOptions {
  readonly name: string;
  readonly clusters: Readonly<Record<string, readonly string[]>>;
  readonly flows: readonly MirrorFlow[];
}

export interface RunningMirrorMaker {
  readonly log: string;
  stop(): Promise<void>;
}

/** MirrorMaker 2's properties: the flows, read_committed at the source, single-replica internal topics. */
export function mirrorMakerProperties(options: MirrorMakerOptions): string {
  const aliases = Object.keys(options.clusters);
  return [
    `clusters = ${aliases.join(', ')}`,
    ...aliases.map((alias) => `${alias}.bootstrap.servers = ${options.clusters[alias]?.join(',')}`),
    // MirrorMaker's consumers read_uncommitted by default: records of aborted Kafka transactions would be
    // mirrored as ordinary (committed) records.
    ...aliases.map((alias) => `${alias}.consumer.isolation.level = read_committed`),
    ...options.flows.flatMap((flow) => [
      `${flow.from}->${flow.to}.enabled = true`,
      `${flow.from}->${flow.to}.topics = ${flow.topics}`,
    ]),
    // One broker per cluster.
    'replication.factor = 1',
    ...['offset-syncs', 'checkpoints', 'heartbeats'].map((t) => `${t}.topic.replication.factor = 1`),
    ...['offset', 'status', 'config'].map((t) => `${t}.storage.replication.factor = 1`),
    // Apply workers keep their position in the replica, not in mirrored consumer offsets.
    'emit.heartbeats.enabled = false',
    'groups.exclude = .*',
    'sync.topic.acls.enabled = false',
    // New changelog topics are picked up within a second instead of ten minutes.
    'refresh.topics.interval.seconds = 1',
    // Every plugin of these jars has a ServiceLoader manifest: skips the reflection scans of the class path
    // (about 10 s each here), once for MirrorMaker and once per flow's worker (the target's alias).
    'plugin.discovery = service_load',
    ...aliases.map((alias) => `${alias}.plugin.discovery = service_load`),
    '',
  ].join('\n');
}

export async function startMirrorMaker(options: MirrorMakerOptions): Promise<RunningMirrorMaker> {
  const properties = join(RUN_DIR, `${options.name}.properties`);
  const log = join(RUN_DIR, `${options.name}.log`);
  await writeFile(properties, mirrorMakerProperties(options));
  const child = spawn('bash', [join(STACK, 'mirror-maker.sh'), properties], {
    cwd: REPO_ROOT,
    env: { ...process.env, CDC_MIRROR_LOG: log },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  return {
    log,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      await waitFor(`MirrorMaker 2 (pid ${child.pid}) to exit`, () => exited, { timeoutMs: 60_000 });
    },
  };
}

/** Topics and consumer groups of `brokers` whose names contain one of `marks` (what a test run left there). */
export async function kafkaLeftovers(
  brokers: readonly string[],
  marks: readonly string[],
): Promise<{ topics: string[]; groups: string[] }> {
  const admin = createKafka({ brokers, clientId: 'test-regions-cleanup' }).admin();
  await admin.connect();
  try {
    const ours = (name: string) => marks.some((mark) => name.includes(mark));
    return {
      topics: (await admin.listTopics()).filter(ours),
      groups: (await admin.listGroups()).groups.map((group) => group.groupId).filter(ours),
    };
  } finally {
    await admin.disconnect();
  }
}
