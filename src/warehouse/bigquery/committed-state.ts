import type { CommittedState } from '../warehouse.ts';
import type { BigQueryClient } from './client.ts';
import { literal, quoteString } from './types.ts';

/**
 * Committed state in BigQuery (warehouse.ts CommittedState): a table `_lakelet_state` in the
 * dataset, one row per (pipeline, key). The row is replaced by statements inside the batch's MERGE
 * transaction (upsert.ts), under the same "no ledger row for this batch yet" guard, so the state and
 * the data commit together or not at all, and a redo of a committed batch leaves both alone.
 */
export const STATE_TABLE = '_lakelet_state';

export function createStateSql(client: BigQueryClient): string {
  return `CREATE TABLE IF NOT EXISTS ${client.table(STATE_TABLE)} (pipeline STRING, key STRING, value STRING, committed_at TIMESTAMP)`;
}

/** The statements (for inside the MERGE's transaction) that make `state` the pipeline's row for its key. */
export function stateWriteSql(client: BigQueryClient, pipeline: string, state: CommittedState, committedAt: number): string[] {
  const table = client.table(STATE_TABLE);
  const where = `pipeline = ${quoteString(pipeline)} AND key = ${quoteString(state.key)}`;
  // DELETE + INSERT rather than a MERGE: two plain statements, and an INSERT with its column list (the emulator's MERGE wants one too).
  return [
    `DELETE FROM ${table} WHERE ${where}`,
    `INSERT INTO ${table} (pipeline, key, value, committed_at) VALUES (${quoteString(pipeline)}, ${quoteString(state.key)}, ${quoteString(state.value)}, ${literal(committedAt, 'TIMESTAMP')})`,
  ];
}

/**
 * The committed states of each pipeline, read once per process (one query for all its keys) and
 * followed by the MERGEs this process commits; a MERGE that fails leaves the pipeline unknown, so
 * the next read asks BigQuery (the script may have committed before its answer was lost).
 */
export class StateCache {
  private readonly of = new Map<string, Promise<Map<string, string>>>();

  constructor(private readonly client: BigQueryClient) {}

  async get(pipeline: string, key: string): Promise<string | undefined> {
    let states = this.of.get(pipeline);
    if (!states) {
      states = this.client
        .query<{ key: string; value: string }>(`SELECT key, value FROM ${this.client.table(STATE_TABLE)} WHERE pipeline = ${quoteString(pipeline)}`, `reading the committed state of ${pipeline}`)
        .then((rows) => new Map(rows.map((r) => [r.key, r.value])));
      this.of.set(pipeline, states);
      states.catch(() => this.of.delete(pipeline));
    }
    return (await states).get(key);
  }

  /** After a MERGE committed `state` (the pipeline's states were read before, or are read afresh). */
  async committed(pipeline: string, state: CommittedState): Promise<void> {
    const known = this.of.get(pipeline);
    if (!known) return;
    const next = new Map(await known.catch(() => new Map<string, string>()));
    next.set(state.key, state.value);
    this.of.set(pipeline, Promise.resolve(next));
  }

  forget(pipeline: string): void {
    this.of.delete(pipeline);
  }
}
