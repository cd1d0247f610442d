/**
 * One Debezium Server process, run by stack/debezium-server.sh in a throwaway folder holding its settings
 * (config/application.properties), offsets and schema history. The script execs the JVM, so the child's pid is
 * the JVM's: its peak resident memory is the kernel's own count (VmHWM in /proc), and SIGTERM stops it cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const SCRIPT = new URL('../../stack/debezium-server.sh', import.meta.url).pathname;

/** A folder for one Debezium Server configuration; offsets and schema history stay there between runs. */
export async function serverFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'cdc-peer-'));
  await mkdir(join(folder, 'config'));
  return folder;
}

export class DebeziumServer {
  private readonly exit: Promise<number | null>;
  private exitCode: number | null | undefined = undefined;

  private readonly child: ChildProcess;
  readonly folder: string;

  private constructor(child: ChildProcess, folder: string) {
    this.child = child;
    this.folder = folder;
    this.exit = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal === null ? null : -1);
        resolve(this.exitCode);
      });
    });
  }

  /** Writes `settings` as its application.properties (plus an HTTP port of its own) and starts it. */
  static async start(
    folder: string,
    settings: Readonly<Record<string, string>>,
    heapOptions: string,
  ): Promise<DebeziumServer> {
    // Quarkus listens on 8080 unless told otherwise; several runs and other services share this machine.
    const http = { 'quarkus.http.host': '127.0.0.1', 'quarkus.http.port': String(await freePort()) };
    const lines = Object.entries({ ...settings, ...http }).map(([key, value]) => `${key}=${value}`);
    await writeFile(join(folder, 'config', 'application.properties'), `${lines.join('\n')}\n`);
    const logFile = join(folder, 'server.log');
    const log = openSync(logFile, 'w');
    const child = spawn('bash', [SCRIPT, 'run', folder], {
      stdio: ['ignore', log, log],
      env: { ...process.env, CDC_DEBEZIUM_HEAP_OPTS: heapOptions },
    });
    try {
      await once(child, 'spawn');
    } finally {
      closeSync(log); // the child holds its own copy
    }
    return new DebeziumServer(child, folder);
  }

  /** True while the JVM runs. */
  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Peak resident memory of the JVM so far, in MB (the kernel's high-water mark, not a sample). */
  async peakRssMb(): Promise<number> {
    const status = await readFile(`/proc/${this.child.pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    if (kb === undefined) throw new Error(`no VmHWM in /proc/${this.child.pid}/status`);
    return Math.round(Number(kb) / 1024);
  }

  /** The end of its log, to say why it stopped. */
  async logTail(lines = 30): Promise<string> {
    const text = await readFile(join(this.folder, 'server.log'), 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  }

  /** SIGTERM (Debezium commits its offsets on the way out), then SIGKILL if it has not exited in a minute. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const exited = await Promise.race([this.exit.then(() => true), delay(60_000).then(() => false)]);
    if (!exited) {
      this.child.kill('SIGKILL');
      await this.exit;
    }
  }
}

/** Removes a server folder once its runs are over. */
export async function removeFolder(folder: string): Promise<void> {
  await rm(folder, { recursive: true, force: true });
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP port for Debezium Server');
  return address.port;
}
