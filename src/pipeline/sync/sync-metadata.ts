import type { Clock } from '../../adapters/clock.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';
import type { SourceConfig } from '../source-config.ts';
import { sourceStatus } from './sync-status.ts';

/**
 * Seed 003's metadata table (table_name, last_sync_timestamp, rows_synced, updated_at, …) as a
 * table of its own, readable with `lakelet read <target>/_sync_metadata`. It is never the truth:
 * each target's sync state is committed in the same commit as its rows (sync-state.ts), and this
 * table is rebuilt from those states after every sync of the source, whether it moved rows or not.
 * A crash after a target commit but before the rebuild leaves it one run behind until the next
 * sync (any run, even one that reads nothing, catches it up); it can never be ahead of the data.
 */
export async function refreshSyncMetadata(source: SourceConfig, env: { warehouse: Warehouse; clock: Clock }): Promise<boolean> {
  if (!env.warehouse.syncMetadata) return false;
  const rows = (await sourceStatus(source, env)).map(({ status, state }) => ({
    source: source.name,
    table_name: state.table,
    target: status.target,
    last_sync_timestamp: state.watermark?.value ?? null,
    last_sync_key: state.watermark ? JSON.stringify(state.watermark.key) : null,
    rows_synced: state.rowsLastRun,
    rows_total: state.rowsTotal,
    batch: state.seq,
    last_run: state.startedAt,
    updated_at: state.committedAt,
  }));
  const table = await env.warehouse.syncMetadata(source.metadata);
  try {
    return await table.replace(rows);
  } finally {
    table.close();
  }
}
