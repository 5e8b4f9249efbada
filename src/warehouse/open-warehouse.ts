import { dirname } from 'node:path';
import type { Compute } from '../adapters/compute/compute.ts';
import { randomIds, systemClock, type Clock, type IdSource } from '../adapters/clock.ts';
import { InputError } from '../errors/lakelet-error.ts';
import { BigQueryWarehouse } from './bigquery/bigquery-warehouse.ts';
import type { BigQuerySettings } from './bigquery/client.ts';
import { DeltaWarehouse } from './delta/delta-warehouse.ts';
import type { Warehouse } from './warehouse.ts';

export type { BigQuerySettings };

/** The warehouses a lakelet.yml can name (`warehouse:`); `delta`, the embedded default. */
export const WAREHOUSES = ['delta', 'bigquery'] as const;
export type WarehouseKind = (typeof WAREHOUSES)[number];

/**
 * What a warehouse needs from the config: which one (`warehouse:`), where lakelet.yml is (table
 * names are relative to it) and its `bigquery:` block. One argument, so a caller cannot name the
 * warehouse and forget its settings (lakelet sync and status once opened BigQuery without them).
 */
export interface WarehouseSettings {
  warehouse: WarehouseKind;
  file: string;
  bigquery?: BigQuerySettings;
}

/** `onWarning`: what went wrong after a commit was durable (a Delta checkpoint not written), for the caller to report. */
export function openWarehouse(settings: WarehouseSettings, env: { compute: Compute; clock?: Clock; ids?: IdSource; onWarning?: (message: string) => void }): Warehouse {
  switch (settings.warehouse) {
    case 'delta':
      return new DeltaWarehouse({ compute: env.compute, clock: env.clock ?? systemClock, ids: env.ids ?? randomIds, ...(env.onWarning ? { onWarning: env.onWarning } : {}) });
    case 'bigquery':
      if (!settings.bigquery) throw new InputError(`${settings.file}: warehouse: bigquery needs a bigquery: block (project, dataset, location)`);
      return new BigQueryWarehouse(settings.bigquery, { compute: env.compute, clock: env.clock ?? systemClock, baseDir: dirname(settings.file) });
  }
}
