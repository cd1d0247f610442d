/**
 * A cascade a → b → c under a randomized workload written on a, with b's capture (which re-publishes what b
 * applied) and the apply process (which writes b and c) SIGKILLed and restarted, and links paused and resumed:
 * c ends equal to a and b row for row, with nothing lost and nothing applied twice (counters equal the sum of
 * their increments: a replayed increment would show). Seeds as in pair.test.ts.
 */
import { test } from 'node:test';
import { runConvergence, seeds } from './convergence.ts';

for (const seed of seeds(1))
  test(`cascade a → b → c equals a under SIGKILLs of capture and apply (seed ${seed})`, (t) =>
    runConvergence(
      t,
      {
        label: 'conv_cascade',
        shape: 'cascade',
        nodes: ['a', 'b', 'c'],
        links: [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'c' },
        ],
        writers: ['a'],
        hot: false,
        transactionsPerWriter: 500,
      },
      seed,
    ));
