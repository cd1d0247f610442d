/**
 * Synchronous capture on PostgreSQL (`synchronous: true` on a source). The server does the waiting: a source
 * commit waits until every synchronous standby has reported it flushed, and the capture's replication
 * connection reports a commit flushed only once its Kafka transaction committed (publisher.ts acknowledges
 * after the commit; the connector confirms the commit record's end). So naming the capture's
 * `application_name` in `synchronous_standby_names` makes each source commit return only once its change is
 * durable in Kafka. This module does not change the server's settings (that needs a superuser, and blocks
 * every commit while the capture is down); it samples them beside the slot's health and says, in /status, a
 * log line and a gauge, whether commits really wait for the capture, and how many are waiting now.
 */
export interface SynchronousState {
  /** The application_name the capture's replication connection uses: the name to list. */
  readonly standbyName: string;
  /** Whether `synchronous_standby_names` names it (or is `*`). */
  readonly named: boolean;
  /**
   * The replication connection's `sync_state` in pg_stat_replication: `sync` or `quorum` when commits wait for
   * it, `potential` when it stands behind another standby, `async` when they do not; null when it is not
   * connected (capture down, paused or reconnecting).
   */
  readonly syncState: string | null;
  /** The server's `synchronous_commit`: `off` and `local` never wait for a standby. */
  readonly synchronousCommit: string;
  /** Source sessions waiting for a synchronous standby to confirm their commit (wait_event `SyncRep`). */
  readonly waitingCommits: number;
}

/**
 * The standby names `synchronous_standby_names` lists: `a, b`, `FIRST n (a, b)`, `ANY n (a, b)` or `n (a, b)`,
 * each name bare or double-quoted (`""` inside quotes is one `"`). Lowercased, as the server compares them with
 * application_name regardless of case.
 */
export function synchronousStandbyNames(setting: string): string[] {
  const list = setting.trim().replace(/^(?:(?:first|any)\s+)?\d+\s*\(([\s\S]*)\)$/i, '$1');
  const names: string[] = [];
  for (const match of list.matchAll(/\s*(?:"((?:[^"]|"")*)"|([^,]+?))\s*(?:,|$)/g)) {
    const name = match[1] === undefined ? (match[2] ?? '') : match[1].replaceAll('""', '"');
    if (name !== '') names.push(name.toLowerCase());
  }
  return names;
}

/** Whether the setting makes commits wait for the standby called `standbyName`. */
export function namesStandby(setting: string, standbyName: string): boolean {
  const names = synchronousStandbyNames(setting);
  return names.includes('*') || names.includes(standbyName.toLowerCase());
}

/**
 * The columns of the source's synchronous replication state, for the slot-health sampler's one query
 * (slot-health.ts); `standbyParam` is the query parameter holding the capture's application_name.
 */
export function synchronousColumns(standbyParam: string): string {
  return `current_setting('synchronous_standby_names') AS sync_names,
          current_setting('synchronous_commit') AS sync_commit,
          (SELECT sync_state FROM pg_stat_replication WHERE application_name = ${standbyParam} LIMIT 1) AS sync_state,
          (SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep')::text AS sync_waiting`;
}

/** The columns `synchronousColumns` reads, as a row returns them. */
export interface SynchronousRow {
  readonly sync_names: string;
  readonly sync_commit: string;
  readonly sync_state: string | null;
  readonly sync_waiting: string;
}

/** The state one sample's row shows for the capture's replication connection `standbyName`. */
export function synchronousState(row: SynchronousRow, standbyName: string): SynchronousState {
  return {
    standbyName,
    named: namesStandby(row.sync_names, standbyName),
    syncState: row.sync_state,
    synchronousCommit: row.sync_commit,
    waitingCommits: Number(row.sync_waiting),
  };
}

/** What an operator must know: commits that do not wait although asked to, or that wait on a capture that is down. */
export function synchronousWarnings(state: SynchronousState): string[] {
  const name = state.standbyName;
  const warnings: string[] = [];
  if (!state.named) {
    warnings.push(
      `synchronous capture is on, but source commits do not wait for it: synchronous_standby_names does not name "${name}"; run ALTER SYSTEM SET synchronous_standby_names = '"${name}"' and SELECT pg_reload_conf() on the source`,
    );
  } else if (state.synchronousCommit === 'off' || state.synchronousCommit === 'local') {
    warnings.push(
      `synchronous capture is on, but the source's synchronous_commit is ${state.synchronousCommit}: commits do not wait for capture unless their session sets synchronous_commit = on`,
    );
  } else if (state.syncState === 'potential' || state.syncState === 'async') {
    warnings.push(
      `synchronous capture is on, but its replication connection "${name}" is ${state.syncState}: another standby listed before it is the one commits wait for`,
    );
  }
  if (state.named && state.syncState === null && state.waitingCommits > 0) {
    warnings.push(
      `${state.waitingCommits} source commit(s) are waiting for the capture "${name}", which is not connected: start or resume it, or remove it from synchronous_standby_names to let commits through without it`,
    );
  }
  return warnings;
}
