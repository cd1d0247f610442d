/** Capture high availability on a PostgreSQL source: the scenario of capture-ha.ts. */
import { after, before, test } from 'node:test';
import { createScenario, type Scenario } from '../../support/scenario.ts';
import { runWorkload } from '../../support/workload.ts';
import { HaRun } from './capture-ha.ts';

let scenario: Scenario;
let run: HaRun | null = null;

before(async () => {
  scenario = await createScenario('hacap', { source: { ha: true } });
});

after(async () => {
  await run?.stop();
  await scenario.cleanup();
});

test('PostgreSQL: the active capture killed or frozen, several times: a standby takes over, nothing lost, nothing twice', async (t) => {
  run = new HaRun({
    config: scenario.config,
    configPath: scenario.configPath,
    changelog: scenario.topics.changelog,
    armAudit: () => scenario.armAudit(),
    write: (seed, signal) =>
      runWorkload(scenario.source, { transactions: 1_000_000, seed, truncates: true, pauseMs: 10, signal }),
    assertConverged: (when) => scenario.assertConverged(when),
  });
  await run.run(t);
});
