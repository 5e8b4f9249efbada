import { BigQueryReader } from './bigquery-reader.ts';
import { DeltaReader } from './delta-reader.ts';
import type { TableReader } from './table-reader.ts';
import type { UiWorkspace } from './workspace.ts';

/** The reader for the warehouse the config (its profile) names: Delta tables or BigQuery's. */
export function openReader(ws: UiWorkspace): TableReader {
  return ws.config.warehouse === 'bigquery' ? new BigQueryReader(ws.config, ws.tables) : new DeltaReader(ws);
}
