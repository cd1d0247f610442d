/**
 * Clock skew as the apply of a link measures it (services/apply/conflicts/clock-skew.ts): how far ahead of the
 * target's clock the changes' commit times are, reported for a minute or two, and warned about above the
 * threshold at most once a minute per origin node. The clock is a test value here: the skew itself, with a real
 * PostgreSQL whose clock runs ahead, is test/it/convergence/skew.test.ts.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { ClockSkew } from '../../../services/apply/conflicts/clock-skew.ts';

const SECOND = 1_000_000n;
const TARGET = 1_800_000_000n * SECOND;

function warnings(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, sink), lines };
}

/** Lets pino's stream deliver what was written. */
const flushed = () => new Promise((resolve) => setImmediate(resolve));

test('changes committed before the target clock read report no skew and no warning', async () => {
  const log = warnings();
  const skew = new ClockSkew('', 100, log.logger, () => 0);
  skew.observe(TARGET, [
    { origin: 'b', commitMicros: TARGET - 2n * SECOND },
    { origin: 'b', commitMicros: TARGET },
  ]);
  await flushed();
  assert.equal(skew.aheadMillis(), 0);
  assert.equal(log.lines.length, 0);
});

test('a change from the future reports how far ahead it was, and one above the threshold is warned about with its origin', async () => {
  const log = warnings();
  const skew = new ClockSkew('', 100, log.logger, () => 0);
  skew.observe(TARGET, [{ origin: 'b', commitMicros: TARGET + 50_000n }]);
  await flushed();
  assert.equal(skew.aheadMillis(), 50);
  assert.equal(log.lines.length, 0, 'under the threshold: measured, not warned about');

  skew.observe(TARGET, [
    { origin: 'b', commitMicros: TARGET + 30n * SECOND },
    { origin: 'b', commitMicros: TARGET + 29n * SECOND },
  ]);
  await flushed();
  assert.equal(skew.aheadMillis(), 30_000);
  assert.equal(log.lines.length, 1);
  assert.equal(log.lines[0]?.origin, 'b');
  assert.equal(log.lines[0]?.aheadMillis, 30_000);
  assert.match(String(log.lines[0]?.msg), /node b .* 30000 ms ahead/);
});

test('warnings come at most once a minute per origin, and a skew stays reported for one to two minutes', async () => {
  const log = warnings();
  let now = 0;
  const skew = new ClockSkew('', 100, log.logger, () => now);
  const ahead = (origin: string, seconds: bigint) =>
    skew.observe(TARGET, [{ origin, commitMicros: TARGET + seconds * SECOND }]);
  ahead('b', 5n);
  now = 30_000;
  ahead('b', 2n);
  ahead('c', 2n);
  await flushed();
  assert.deepEqual(
    log.lines.map((line) => [line.origin, line.aheadMillis]),
    [
      ['b', 5_000],
      ['c', 2_000],
    ],
  );
  now = 70_000;
  assert.equal(skew.aheadMillis(), 5_000, 'the last window still shows the skew');
  ahead('b', 1n);
  await flushed();
  assert.equal(log.lines.length, 3, 'a minute after the first warning about b, b is warned about again');
  now = 135_000;
  assert.equal(skew.aheadMillis(), 1_000, 'the first window is past; the one after it holds 1 s');
  now = 300_000;
  assert.equal(skew.aheadMillis(), 0, 'nothing ahead for minutes: 0');
});
