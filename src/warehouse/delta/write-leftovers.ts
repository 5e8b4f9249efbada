import { removeWriteLeftovers } from '../../engine/delta/write-leftovers.ts';
import type { DeltaTable } from '../../engine/table.ts';
import type { TableLeftovers } from '../warehouse.ts';

/**
 * Removes the abandoned leftovers of killed writers from these tables' folders (temp files in
 * `_delta_log/` and beside the data, staging folders); the tables it removed something from.
 */
export async function removeTableLeftovers(tables: (DeltaTable | undefined)[]): Promise<TableLeftovers[]> {
  const out: TableLeftovers[] = [];
  for (const table of tables) {
    if (!table) continue;
    const removed = await removeWriteLeftovers(table.ctx.store);
    if (removed.length > 0) out.push({ table: table.uri, removed });
  }
  return out;
}
