/** Capture high availability on a MariaDB source (binlog): the scenario of capture-ha.ts. */
import { after, before, test } from 'node:test';
import { createMariadbScenario, type MariadbScenario } from '../../support/mariadb-scenario.ts';
import { runMariadbWorkload } from '../../support/mariadb-workload.ts';
import { HaRun } from './capture-ha.ts';

let scenario: MariadbScenario;
let run: HaRun | null = null;

before(async () => {
  scenario = await createMariadbScenario('hacapm', { source: { ha: true } });
});

after(async () => {
  await run?.stop();
  await scenario.cleanup();
});

test('MariaDB: the active capture killed or frozen, several times: a standby takes over, nothing lost, nothing twice', async (t) => {
  run = new HaRun({
    config: scenario.pipeline.config,
    configPath: scenario.pipeline.configPath,
    changelog: scenario.pipeline.topics.changelog,
    armAudit: () => scenario.armAudit(),
    write: (seed, signal) =>
      runMariadbWorkload(scenario.source, {
        transactions: 1_000_000,
        seed,
        truncates: true,
        pauseMs: 10,
        signal,
        afterTruncate: (table) => scenario.recordTruncate(table),
      }),
    assertConverged: (when) => scenario.assertConverged(when),
  });
  await run.run(t);
});
