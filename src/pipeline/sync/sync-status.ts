import type { Compute } from '../../adapters/compute/compute.ts';
import type { Clock } from '../../adapters/clock.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';
import type { LakeletConfig } from '../config.ts';
import { SYNC_METADATA_FOLDER, type SourceConfig } from '../source-config.ts';
import { parseSyncState, SYNC_STATE_KEY, type SyncState } from './sync-state.ts';
import { openSyncTables, tableLocations } from './sync-table.ts';

export interface SyncTableStatus {
  source: string;
  table: string;
  target: string;
  /** The committed watermark (source text), or null for a table synced in full. */
  watermark: string | null;
  rowsLastRun: number;
  rowsTotal: number;
  /** When the last committed run started (ISO). */
  lastRun: string;
  /** ms from the start of the last committed run to now: every change committed in the source before that start is in the target. */
  lagMs: number;
  batch: number;
}

/**
 * Seed 003's metadata table, read from where it is committed: each synced table's target carries
 * its sync state in the same commit as its data (SyncState). Tables are found as the warehouse holds them.
 */
export async function syncStatus(config: LakeletConfig, env: { warehouse: Warehouse; compute: Compute; clock: Clock }): Promise<{ source: string; tables: SyncTableStatus[] }[]> {
  const out: { source: string; tables: SyncTableStatus[] }[] = [];
  for (const source of config.sources) out.push({ source: source.name, tables: (await sourceStatus(source, env)).map((s) => s.status) });
  return out;
}

/** One source's tables as their targets' committed states say, with the states themselves. */
export async function sourceStatus(source: SourceConfig, env: { warehouse: Warehouse; clock: Clock }): Promise<{ status: SyncTableStatus; state: SyncState }[]> {
  const tables: { status: SyncTableStatus; state: SyncState }[] = [];
  // The synced tables, as the warehouse holds them (Delta: folders under the target; BigQuery: committed states).
  const slugs = (await env.warehouse.pipelinesUnder(source.target, tableLocations(source, '').name)).filter((s) => s !== SYNC_METADATA_FOLDER);
  for (const slug of slugs) {
    const t = await openSyncTables(env.warehouse, source, { slug, mode: 'full' });
    try {
      const state = parseSyncState(await t.committedState(SYNC_STATE_KEY));
      if (!state) continue;
      tables.push({
        state,
        status: {
          source: source.name,
          table: state.table,
          target: `${source.target}/${slug}`,
          watermark: state.watermark?.value ?? null,
          rowsLastRun: state.rowsLastRun,
          rowsTotal: state.rowsTotal,
          lastRun: new Date(state.startedAt).toISOString(),
          lagMs: env.clock.now() - state.startedAt,
          batch: state.seq,
        },
      });
    } finally {
      t.close();
    }
  }
  return tables;
}
