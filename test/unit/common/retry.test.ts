import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CdcError } from '../../../common/errors.ts';
import { silentLogger } from '../../../common/logger.ts';
import { Backoff, withRetries } from '../../../common/retry.ts';

test('backoff waits double up to the cap, with jitter in [50%, 100%], and start over after reset', () => {
  const backoff = new Backoff({ initialMs: 100, maxMs: 1_000 });
  const bases = [100, 200, 400, 800, 1_000, 1_000];
  for (const base of bases) {
    const wait = backoff.next();
    assert.ok(wait >= base / 2 && wait <= base, `wait ${wait} outside [${base / 2}, ${base}]`);
  }
  assert.equal(backoff.attempts, bases.length);
  backoff.reset();
  assert.equal(backoff.attempts, 0);
  assert.ok(backoff.next() <= 100);
});

test('a backoff sleep ends at once when its signal aborts', async () => {
  const controller = new AbortController();
  const sleeping = Backoff.sleep(60_000, controller.signal);
  controller.abort();
  assert.equal(await sleeping, false);
  assert.equal(await Backoff.sleep(1, new AbortController().signal), true);
});

test('withRetries retries retriable failures and gives up on the first one a retry cannot fix', async () => {
  const signal = new AbortController().signal;
  const options = { signal, logger: silentLogger, backoff: { initialMs: 1, maxMs: 2 } };
  let calls = 0;
  const value = await withRetries(
    'flaky',
    () => {
      calls++;
      if (calls < 3) throw new CdcError('SOURCE_UNREACHABLE', 'down for now');
      return Promise.resolve('ok');
    },
    options,
  );
  assert.equal(value, 'ok');
  assert.equal(calls, 3);

  calls = 0;
  await assert.rejects(
    withRetries(
      'broken',
      () => {
        calls++;
        throw new CdcError('CONFIG_INVALID', 'wrong');
      },
      options,
    ),
    /wrong/,
  );
  assert.equal(calls, 1);
});
