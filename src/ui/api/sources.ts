import { systemClock } from '../../adapters/clock.ts';
import { syncStatus, type SyncTableStatus } from '../../pipeline/sync/sync-status.ts';
import { openWarehouse } from '../../warehouse/open-warehouse.ts';
import type { UiWorkspace } from './workspace.ts';

/**
 * The database sources of the pipelines page (`sources:` in lakelet.yml, `lakelet sync`): per
 * synced table its committed watermark, rows of the last run and in all, the last run and the lag,
 * read by the same code as `lakelet status` (the sync state committed with each MERGE). Sources are
 * the config's, not a file pipeline's, so they are a list of their own. A source whose state cannot
 * be read (a warehouse that does not keep it yet) is shown with its error, not left out.
 */
export interface SourceView {
  source: string;
  url: string;
  target: string;
  tables: (SyncTableStatus & { lag: string })[];
  error: string | null;
}

export async function sourcesView(ws: UiWorkspace): Promise<SourceView[]> {
  const config = ws.config;
  if (config.sources.length === 0) return [];
  const describe = (name: string) => {
    const s = config.sources.find((x) => x.name === name)!;
    // The parsed URL holds no password (lakelet takes it from passwordEnv/passwordFile).
    return { source: s.name, url: `${s.url.kind}://${s.url.user}@${s.url.host}:${s.url.port}/${s.url.database}`, target: s.target };
  };
  const warehouse = openWarehouse(config, { compute: ws.compute, clock: systemClock });
  try {
    const status = await syncStatus(config, { warehouse, compute: ws.compute, clock: systemClock });
    return status.map((s) => ({ ...describe(s.source), tables: s.tables.map((t) => ({ ...t, lag: lagText(t.lagMs) })), error: null }));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return config.sources.map((s) => ({ ...describe(s.name), tables: [], error: message }));
  } finally {
    warehouse.close();
  }
}

/** 95 s → "1 min 35 s"; the exact ms stay in lagMs. */
export function lagText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}
