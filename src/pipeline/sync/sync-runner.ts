import { readFileSync } from 'node:fs';
import type { Compute } from '../../adapters/compute/compute.ts';
import { openSource } from '../../adapters/sources/open-source.ts';
import type { SourceConnection } from '../../adapters/sources/source.ts';
import type { Clock } from '../../adapters/clock.ts';
import { LakeletError } from '../../errors/lakelet-error.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';
import { BatchState } from '../batch-state.ts';
import type { LakeletConfig } from '../config.ts';
import type { Reporter } from '../reporter.ts';
import { sourcePassword, type SourceConfig } from '../source-config.ts';
import { refreshSyncMetadata } from './sync-metadata.ts';
import { syncTable, tableLocations, type TableOutcome } from './sync-table.ts';
import { planTables } from './table-plan.ts';

export interface SyncOptions {
  source?: string;
  table?: string;
  full?: boolean;
}

export interface SyncSummary {
  synced: TableOutcome[];
  skipped: { source: string; table: string; reason: string }[];
  /** A source that could not be reached (table: undefined) or a table whose sync failed. */
  failed: { source: string; table?: string; error: string }[];
}

/**
 * `lakelet sync`, once: every source (or one), every planned table (or one). A source that cannot
 * be reached, or a table that fails, is reported and the others go on; the summary says which.
 */
export async function syncSources(config: LakeletConfig, env: { warehouse: Warehouse; compute: Compute; clock: Clock; reporter: Reporter }, options: SyncOptions = {}): Promise<SyncSummary> {
  const summary: SyncSummary = { synced: [], skipped: [], failed: [] };
  const sources = config.sources.filter((s) => !options.source || s.name === options.source);
  if (options.source && sources.length === 0) throw new LakeletError('INPUT', `no source '${options.source}' in ${config.file} (sources: ${config.sources.map((s) => s.name).join(', ') || 'none'})`);
  for (const source of sources) {
    let conn: SourceConnection | undefined;
    try {
      conn = await connect(source);
      await syncSource(source, conn, env, options, summary);
    } catch (err) {
      summary.failed.push({ source: source.name, error: oneLine(err) });
      env.reporter.event('error', 'sync.source-failed', { source: source.name, error: oneLine(err) });
    } finally {
      await conn?.close();
    }
  }
  return summary;
}

async function connect(source: SourceConfig): Promise<SourceConnection> {
  return openSource({
    name: source.name,
    url: source.url,
    password: sourcePassword(source),
    ...(source.tls ? { tls: { mode: source.tls.mode, ...(source.tls.caFile ? { ca: readFileSync(source.tls.caFile, 'utf8') } : {}) } } : {}),
    connectTimeoutMs: source.connectTimeoutMs,
  });
}

async function syncSource(source: SourceConfig, conn: SourceConnection, env: { warehouse: Warehouse; compute: Compute; clock: Clock; reporter: Reporter }, options: SyncOptions, summary: SyncSummary): Promise<void> {
  const defaultSchema = conn.kind === 'postgres' ? 'public' : source.url.database;
  const schemas = source.discover.schemas ?? [...new Set([defaultSchema, ...(source.tables ?? []).filter((t) => t.includes('.')).map((t) => t.slice(0, t.indexOf('.')))])];
  const all = await conn.tables(schemas);
  const { plans, missing } = planTables(source, all, defaultSchema);
  for (const m of missing) summary.failed.push({ source: source.name, table: m, error: `table ${m} is listed in tables: but the source has no such base table (or the user may not see it)` });
  for (const plan of plans) {
    if (options.table && plan.id !== options.table) continue;
    if (plan.mode === 'skip') {
      summary.skipped.push({ source: source.name, table: plan.id, reason: plan.reason });
      env.reporter.event('warn', 'sync.skipped', { source: source.name, table: plan.id, reason: plan.reason });
      continue;
    }
    const loc = tableLocations(source, plan.slug);
    let unlock: (() => Promise<void>) | undefined;
    try {
      unlock = await new BatchState(loc.name, loc.stateDir).lock();
      const outcome = await syncTable({ source, conn, full: options.full ?? false, ...env }, plan);
      summary.synced.push(outcome);
      env.reporter.event('info', 'sync.table', { ...outcome });
    } catch (err) {
      summary.failed.push({ source: source.name, table: plan.id, error: oneLine(err) });
      env.reporter.event('error', 'sync.table-failed', { source: source.name, table: plan.id, error: oneLine(err) });
    } finally {
      await unlock?.();
    }
  }
  if (options.table && !plans.some((p) => p.id === options.table)) summary.failed.push({ source: source.name, table: options.table, error: `no table ${options.table} in source '${source.name}'` });
  try {
    if (await refreshSyncMetadata(source, env)) env.reporter.event('info', 'sync.metadata', { source: source.name, table: source.metadata });
  } catch (err) {
    // A copy: the next run rebuilds it from the committed states, so the sync itself stands.
    env.reporter.event('warn', 'sync.metadata-failed', { source: source.name, table: source.metadata, error: oneLine(err) });
  }
}

function oneLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}
