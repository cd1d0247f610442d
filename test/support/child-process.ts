/**
 * The `cdc` command line as a child process, for failure tests that kill it: start it, read what it printed,
 * send it a signal and wait until it has really exited (a SIGKILLed process leaves no chance to clean up, which
 * is the point).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../services/cli/main.ts', import.meta.url));
/** Enough of the output to find start-up lines and the last errors, without growing without bound. */
const MAX_OUTPUT_CHARS = 2_000_000;

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface CliProcess {
  readonly pid: number;
  /** Settles once the process exited, whatever the reason. */
  readonly exited: Promise<ChildExit>;
  /** stdout and stderr as printed so far. */
  stdout(): string;
  stderr(): string;
  /** The exit, once it happened; null while the process runs. */
  exit(): ChildExit | null;
  /** Sends `signal` and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ChildExit>;
}

/** Runs `node services/cli/main.ts <args>` from the repository root. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child: ChildProcess = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`cannot start ${CLI} ${args.join(' ')}`);
  let out = '';
  let err = '';
  const keep = (text: string, chunk: Buffer): string => {
    const next = text + chunk.toString('utf8');
    return next.length > MAX_OUTPUT_CHARS ? next.slice(next.length - MAX_OUTPUT_CHARS) : next;
  };
  child.stdout?.on('data', (chunk: Buffer) => (out = keep(out, chunk)));
  child.stderr?.on('data', (chunk: Buffer) => (err = keep(err, chunk)));
  let exit: ChildExit | null = null;
  const exited = new Promise<ChildExit>((resolve, reject) => {
    child.once('error', reject);
    // 'close' (not 'exit'): the output pipes are drained by then, so stdout() is complete.
    child.once('close', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  const pid = child.pid;
  return {
    pid,
    exited,
    stdout: () => out,
    stderr: () => err,
    exit: () => exit,
    async kill(signal = 'SIGKILL', timeoutMs = 60_000) {
      if (exit === null) child.kill(signal);
      await waitFor(`process ${pid} to exit after ${signal}`, () => exit !== null, {
        timeoutMs,
        intervalMs: 50,
      });
      return exited;
    },
  };
}

/** The parsed JSON log lines (pino) a process printed. */
export function logLines(output: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === 'object' && parsed !== null) lines.push(parsed as Record<string, unknown>);
    } catch {
      // A line cut at the output limit, or not a log line at all: not ours to judge.
      continue;
    }
  }
  return lines;
}

/** The last `lines` lines of a process's output, for failure messages. */
export function outputTail(child: CliProcess, lines = 20): string {
  const all = `${child.stdout()}\n${child.stderr()}`.trim().split('\n');
  return all.slice(-lines).join('\n');
}

/**
 * Resolves as `work` does, but fails at once (with the end of the output) if `child` exits first: a process
 * that crashed should fail the test with its own words, not a timeout much later.
 */
export async function whileAlive<T>(child: CliProcess, what: string, work: Promise<T>): Promise<T> {
  let settled = false;
  const died = child.exited.then((exit) => {
    if (settled) return new Promise<never>(() => undefined);
    throw new Error(
      `${what}: process ${child.pid} exited (code ${exit.code}, signal ${exit.signal}) while it should run; its output ends with:\n${outputTail(child)}`,
    );
  });
  try {
    return await Promise.race([work, died]);
  } finally {
    settled = true;
  }
}

/** The control API address a `cdc run` child logged at start-up (`api: { port: 0 }` picks a free port). */
export async function apiUrlOf(child: CliProcess, timeoutMs = 60_000): Promise<string> {
  return whileAlive(
    child,
    'waiting for the control API',
    waitFor(
      'the control API address in the log',
      () => {
        const line = logLines(child.stdout()).find((entry) => typeof entry.apiUrl === 'string');
        return typeof line?.apiUrl === 'string' ? line.apiUrl : null;
      },
      { timeoutMs },
    ),
  );
}
