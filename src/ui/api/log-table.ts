import { sqlString } from '../../adapters/compute/sql.ts';
import { withMissingFileCheck } from '../../engine/delta/scan.ts';
import { rowsPage, type RowsPage } from './rows-page.ts';
import type { LogQuery } from './table-reader.ts';
import type { UiWorkspace } from './workspace.ts';

/**
 * The ingestion log, queried in DuckDB rather than read whole: counts grouped there, pages cut
 * there. (IngestionLogTable.read() returns every row; fine for `status`, not for a log of years.)
 */
const LOG = 'ingestion_log';

export async function statusCounts(ws: UiWorkspace): Promise<{ pipeline: string; status: string; files: number; records: number }[]> {
  const table = await ws.table(LOG);
  if (!(await table.exists())) return [];
  const scan = await table.scan({ columns: ['pipeline', 'status', 'records'] });
  try {
    const rows = await withMissingFileCheck(scan.snapshot, scan.files, () =>
      table.ctx.compute.query<{ pipeline: string; status: string; files: string | number; records: string | number | null }>(
        `SELECT pipeline, status, count(*) AS files, sum(records) AS records FROM (${scan.sql}) GROUP BY ALL ORDER BY ALL`,
      ),
    );
    return rows.map((r) => ({ pipeline: r.pipeline, status: r.status, files: Number(r.files), records: Number(r.records ?? 0) }));
  } finally {
    await scan.release();
  }
}

export type { LogQuery };

/** A page of log rows, newest first (or oldest first for one file's history). */
export async function logPage(ws: UiWorkspace, q: LogQuery): Promise<RowsPage> {
  const table = await ws.table(LOG);
  if (!(await table.exists())) return { columns: [], rows: [], total: 0, offset: q.offset, limit: q.limit };
  const conditions = [
    q.q ? `contains(lower(file_name), ${sqlString(q.q.toLowerCase())})` : undefined,
    q.pipeline ? `pipeline = ${sqlString(q.pipeline)}` : undefined,
    q.status ? `status = ${sqlString(q.status)}` : undefined,
    q.file ? `file_name = ${sqlString(q.file)}` : undefined,
  ].filter((c): c is string => c !== undefined);
  const scan = await table.scan(conditions.length ? { where: conditions.join(' AND ') } : {});
  try {
    const order = q.oldestFirst ? ['logged_at', 'batch', 'file_name'] : ['logged_at DESC', 'batch DESC', 'file_name'];
    return await withMissingFileCheck(scan.snapshot, scan.files, () => rowsPage(table.ctx.compute, scan.sql, { order, limit: q.limit, offset: q.offset }));
  } finally {
    await scan.release();
  }
}
