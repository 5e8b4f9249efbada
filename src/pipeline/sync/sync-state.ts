import type { Position } from '../../adapters/sources/source.ts';

/**
 * What a table's sync commits with each MERGE into its target (Warehouse CommittedState, key
 * `sync`): seed 003's metadata row (table_name, last_sync_timestamp, rows_synced, updated_at) plus
 * the keyset position and the batch sequence. Committed in the same transaction as the data, so a
 * crash can never leave the watermark ahead of, or behind, the rows.
 */
export interface SyncState {
  table: string;
  seq: number;
  /** The last row's watermark value and key (text, as the source prints them); null: no watermark column. */
  watermark: Position | null;
  /** Rows read from the source in the run that committed this state, and in all runs. */
  rowsLastRun: number;
  rowsTotal: number;
  /** When the run that committed this state started reading the source (ms since the epoch). */
  startedAt: number;
  committedAt: number;
}

export const SYNC_STATE_KEY = 'sync';

export function parseSyncState(text: string | undefined): SyncState | undefined {
  return text === undefined ? undefined : (JSON.parse(text) as SyncState);
}

/** A batch extracted and about to be staged: what its MERGE will commit (kept until it is merged). */
export interface PendingBatch {
  seq: number;
  state: SyncState;
  files: string[];
}
