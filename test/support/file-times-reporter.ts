/**
 * A node:test reporter that measures each test file's wall time (from its first event to its last: the
 * files run one at a time, so hooks and server start-ups count) and prints the slowest files at the end, so the suite's time budget (`.ci/run`) can be watched and trimmed where it goes. Used by
 * stack/test.sh beside the spec reporter.
 */
import type { TestEvent } from 'node:test/reporters';

const SHOWN = 40;

export default async function* fileTimes(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const spans = new Map<string, { first: number; last: number }>();
  for await (const event of source) {
    const file = (event.data as { file?: string } | undefined)?.file;
    // Every file is enqueued at the start of the run: its time starts when it is dequeued.
    if (file === undefined || event.type === 'test:enqueue') continue;
    const now = Date.now();
    const span = spans.get(file);
    if (span === undefined) spans.set(file, { first: now, last: now });
    else span.last = now;
  }
  const byFile = new Map([...spans].map(([file, { first, last }]) => [file, last - first]));
  const root = process.cwd() + '/';
  const sorted = [...byFile].sort(([, a], [, b]) => b - a);
  const total = sorted.reduce((sum, [, ms]) => sum + ms, 0);
  yield `test time by file (${sorted.length} files, ${(total / 60_000).toFixed(1)} min in all; slowest ${SHOWN}):\n`;
  for (const [file, ms] of sorted.slice(0, SHOWN))
    yield `${(ms / 1000).toFixed(1).padStart(8)} s  ${file.startsWith(root) ? file.slice(root.length) : file}\n`;
}
