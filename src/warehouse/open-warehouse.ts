import type { Compute } from '../adapters/compute/compute.ts';
import { randomIds, systemClock, type Clock, type IdSource } from '../adapters/clock.ts';
import { DeltaWarehouse } from './delta/delta-warehouse.ts';
import type { Warehouse } from './warehouse.ts';

/** The warehouses a lakelet.yml can name (`warehouse:`); `delta`, the embedded default. */
export const WAREHOUSES = ['delta'] as const;
export type WarehouseKind = (typeof WAREHOUSES)[number];

export function openWarehouse(kind: WarehouseKind, env: { compute: Compute; clock?: Clock; ids?: IdSource }): Warehouse {
  switch (kind) {
    case 'delta':
      return new DeltaWarehouse({ compute: env.compute, clock: env.clock ?? systemClock, ids: env.ids ?? randomIds });
  }
}
