import type { Compute } from '../adapters/compute/compute.ts';
import type { Clock } from '../adapters/clock.ts';
import { openWarehouse } from '../warehouse/open-warehouse.ts';
import type { IngestionLogTable } from '../warehouse/warehouse.ts';
import type { LakeletConfig } from './config.ts';

export type { FileStatus, IngestionLogTable, LogRow } from '../warehouse/warehouse.ts';

/** The ingestion log of a config, in its warehouse (for `status`, `requeue` and the demo). */
export async function openIngestionLog(config: LakeletConfig, compute: Compute, clock: Clock): Promise<IngestionLogTable> {
  return openWarehouse(config, { compute, clock }).ingestionLog(config.ingestionLog);
}
