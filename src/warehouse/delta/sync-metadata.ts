import { sqlString } from '../../adapters/compute/sql.ts';
import { DeltaTable, type TableOptions } from '../../engine/table.ts';
import type { SyncMetadataRow, SyncMetadataTable } from '../warehouse.ts';

const COLUMNS: [keyof SyncMetadataRow, string][] = [
  ['source', 'VARCHAR'], ['table_name', 'VARCHAR'], ['target', 'VARCHAR'], ['last_sync_timestamp', 'VARCHAR'], ['last_sync_key', 'VARCHAR'],
  ['rows_synced', 'BIGINT'], ['rows_total', 'BIGINT'], ['batch', 'BIGINT'], ['last_run', 'TIMESTAMPTZ'], ['updated_at', 'TIMESTAMPTZ'],
];

/**
 * The sync metadata table as a Delta table of its own (one per source). It is a derived copy: each
 * replace overwrites it with rows read from the targets' committed states, and only when they
 * differ from what it holds, so a run that moved nothing adds no version.
 */
export class DeltaSyncMetadata implements SyncMetadataTable {
  private constructor(private readonly table: DeltaTable) {}

  static async open(path: string, env: TableOptions): Promise<DeltaSyncMetadata> {
    return new DeltaSyncMetadata(await DeltaTable.forPath(path, env));
  }

  async replace(rows: SyncMetadataRow[]): Promise<boolean> {
    const current = await this.read();
    // A table's batch number moves with every commit of it: same numbers, same committed states.
    const norm = (r: Record<string, unknown>) => [r.source, r.table_name, r.batch, r.target].map(String).join('\0');
    const wanted = [...rows].sort((a, b) => a.table_name.localeCompare(b.table_name));
    if (current.length === wanted.length && current.every((c, i) => norm(c) === norm({ ...wanted[i] }))) return false;
    const values = wanted.map((r) => `(${COLUMNS.map(([k, type]) => literal(r[k], type)).join(', ')})`);
    const names = COLUMNS.map(([k]) => k).join(', ');
    const sql = values.length
      ? `SELECT * FROM (VALUES ${values.join(', ')}) AS v(${names})`
      : `SELECT ${COLUMNS.map(([k, t]) => `CAST(NULL AS ${t}) AS ${k}`).join(', ')} WHERE false`;
    await this.table.write({ sql }).mode('overwrite').execute();
    return true;
  }

  async read(): Promise<Record<string, unknown>[]> {
    if (!(await this.table.exists())) return [];
    return this.table.read({ orderBy: 'table_name' });
  }

  close(): void {
    this.table.close();
  }
}

function literal(value: unknown, type: string): string {
  if (value === null || value === undefined) return `CAST(NULL AS ${type})`;
  if (type === 'TIMESTAMPTZ') return `CAST(epoch_ms(CAST(${Number(value)} AS BIGINT)) AS TIMESTAMPTZ)`;
  if (type === 'BIGINT') return `CAST(${Math.round(Number(value))} AS BIGINT)`;
  return `CAST(${sqlString(String(value))} AS VARCHAR)`;
}
