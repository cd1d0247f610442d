/**
 * A second PostgreSQL 15 cluster whose clock runs ahead of the machine's, for the clock-skew test: libfaketime
 * (Debian's `libfaketime`, installed by stack/install.sh) is preloaded into the server, so now(),
 * clock_timestamp() and the commit timestamps last-writer-wins compares (track_commit_timestamp) all run ahead,
 * while the stack's cluster keeps the true time. A throwaway cluster (throwaway-postgres.ts).
 */
import { access } from 'node:fs/promises';
import { startThrowawayPostgres, type ThrowawayPostgres } from './throwaway-postgres.ts';

const ARCH: Partial<Record<NodeJS.Architecture, string>> = { x64: 'x86_64', arm64: 'aarch64' };
const FAKETIME_LIB = `/usr/lib/${ARCH[process.arch] ?? process.arch}-linux-gnu/faketime/libfaketime.so.1`;

export interface SkewedPostgres extends ThrowawayPostgres {
  /** How far its clock runs ahead of the machine's, in seconds. */
  readonly aheadSeconds: number;
}

/** Starts a cluster whose clock runs `aheadSeconds` ahead. */
export async function startSkewedPostgres(aheadSeconds: number): Promise<SkewedPostgres> {
  await access(FAKETIME_LIB).catch((error: unknown) => {
    throw new Error(`${FAKETIME_LIB} is missing: install Debian's libfaketime (bash stack/install.sh does)`, {
      cause: error,
    });
  });
  const server = await startThrowawayPostgres({
    prefix: 'cdc-skew-',
    // The offset applies to the wall clock only: timeouts and waits (monotonic clock) keep their real length.
    env: [`LD_PRELOAD=${FAKETIME_LIB}`, `FAKETIME=+${aheadSeconds}s`, 'FAKETIME_DONT_FAKE_MONOTONIC=1'],
  });
  return { ...server, aheadSeconds };
}
