import { withMissingFileCheck } from '../../engine/delta/scan.ts';
import { typeText } from '../../engine/delta/schema.ts';
import type { Snapshot } from '../../engine/delta/snapshot.ts';
import { UiRequestError } from '../errors.ts';
import { filterSql, parseFilters } from './filters.ts';
import { MAX_PAGE, rowsPage, type RowsPage } from './rows-page.ts';
import { versionSizes } from './table-sizes.ts';
import type { PageQuery } from './table-reader.ts';
import type { UiWorkspace } from './workspace.ts';

/** The tables page and the history page: what a table is, was, and holds, through the engine. */

const iso = (ms: number | null | undefined) => (ms === undefined || ms === null || !Number.isFinite(ms) ? null : new Date(ms).toISOString());

/** Every table the config names, with its latest version, size and file count (or that it does not exist yet). */
export async function tableList(ws: UiWorkspace): Promise<Record<string, unknown>[]> {
  const out = [];
  for (const ref of ws.tables) {
    const snap = await (await ws.table(ref.id)).tryLatest();
    out.push({
      id: ref.id,
      role: ref.role,
      pipeline: ref.pipeline ?? null,
      location: ref.location,
      exists: snap !== undefined,
      ...(snap ? { version: snap.version, numFiles: snap.fileCount, sizeInBytes: snap.sizeInBytes, lastCommit: iso(snap.timestamp) } : {}),
    });
  }
  return out;
}

export async function describeTable(ws: UiWorkspace, id: string, version: number | undefined): Promise<Record<string, unknown>> {
  const snap = await snapshotOf(ws, id, version);
  const m = snap.metadata;
  return {
    id,
    location: ws.tableRef(id).location,
    uri: snap.table.uri,
    tableId: m.id,
    version: snap.version,
    timestamp: iso(snap.timestamp),
    createdTime: iso(m.createdTime),
    numFiles: snap.fileCount,
    sizeInBytes: snap.sizeInBytes,
    partitionColumns: snap.partitionColumns,
    protocol: snap.protocol,
    properties: snap.configuration,
    changeDataFeed: String(snap.configuration['delta.enableChangeDataFeed'] ?? '').toLowerCase() === 'true',
    schema: snap.schema.fields.map((f) => ({ name: f.name, type: typeText(f.type), nullable: f.nullable })),
  };
}

/** Every commit (newest first, up to `limit`) with its metrics, and the table's size after each. */
export async function tableHistory(ws: UiWorkspace, id: string, limit: number): Promise<Record<string, unknown>> {
  const table = await ws.table(id);
  if (!(await table.exists())) throw notYet(ws, id);
  const entries = await table.history(limit);
  const sizes = await versionSizes(table, limit);
  return {
    id,
    versions: entries.map((e) => ({
      version: e.version,
      timestamp: iso(e.timestamp),
      operation: e.operation,
      operationParameters: e.operationParameters,
      operationMetrics: e.operationMetrics,
      ...(e.readVersion !== undefined ? { readVersion: e.readVersion } : {}),
      ...(e.engineInfo !== undefined ? { engineInfo: e.engineInfo } : {}),
    })),
    sizes,
  };
}

export type { PageQuery };

/** A page of the rows as of a version (default latest), filtered. */
export async function tableRows(ws: UiWorkspace, id: string, q: PageQuery & { version?: number; filters: string | null }): Promise<RowsPage & { version: number; where: string | null; filesScanned: number; filesTotal: number }> {
  const table = await ws.table(id);
  const snap = await snapshotOf(ws, id, q.version);
  const where = filterSql(parseFilters(q.filters, snap.schema.fields.map((f) => f.name)));
  const scan = await table.scan({ version: snap.version, ...(where ? { where } : {}) });
  try {
    const page = await withMissingFileCheck(scan.snapshot, scan.files, () => rowsPage(table.ctx.compute, scan.sql, { order: ws.tableRef(id).order, ...q }));
    return { ...page, version: snap.version, where: where ?? null, filesScanned: scan.metrics.filesScanned, filesTotal: scan.metrics.filesTotal };
  } finally {
    await scan.release();
  }
}

/** Commit order, and within a commit each update's preimage right before its postimage (as `lakelet changes`). */
const CHANGE_ORDER = `_commit_version, CASE _change_type WHEN 'delete' THEN 0 WHEN 'update_preimage' THEN 1 WHEN 'update_postimage' THEN 2 ELSE 3 END`;

/** The change data feed between two versions (a diff of what changed), when the table records it. */
export async function tableChanges(ws: UiWorkspace, id: string, q: PageQuery & { from: number; to?: number }): Promise<Record<string, unknown>> {
  const table = await ws.table(id);
  const snap = await snapshotOf(ws, id, undefined);
  if (String(snap.configuration['delta.enableChangeDataFeed'] ?? '').toLowerCase() !== 'true') {
    return { id, enabled: false, hint: `the change data feed is off for ${id}; set delta.enableChangeDataFeed=true in the table's properties (lakelet.yml stage/target properties, or lakelet alter) to diff versions` };
  }
  const scan = await table.changes({ fromVersion: q.from, ...(q.to !== undefined ? { toVersion: q.to } : {}) }).scan();
  try {
    const page = await withMissingFileCheck(scan.snapshot, scan.files, () =>
      rowsPage(table.ctx.compute, scan.sql, { orderSql: CHANGE_ORDER, order: ws.tableRef(id).order, limit: q.limit, offset: q.offset }),
    );
    return { id, enabled: true, ...page, metrics: scan.metrics };
  } finally {
    await scan.release();
  }
}

/** limit/offset from a query string, bounded so that one request cannot ask for the whole table. */
export function pageQuery(params: URLSearchParams, defaultLimit = 50): PageQuery {
  return { limit: Math.min(MAX_PAGE, intParam(params, 'limit') ?? defaultLimit), offset: intParam(params, 'offset') ?? 0 };
}

export function intParam(params: URLSearchParams, name: string): number | undefined {
  const v = params.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new UiRequestError(400, `${name} must be a whole number (0 or more), got '${v.slice(0, 40)}'`);
  return Number(v);
}

async function snapshotOf(ws: UiWorkspace, id: string, version: number | undefined): Promise<Snapshot> {
  const table = await ws.table(id);
  if (!(await table.exists())) throw notYet(ws, id);
  return table.snapshot(version === undefined ? {} : { version });
}

function notYet(ws: UiWorkspace, id: string): UiRequestError {
  return new UiRequestError(404, `table ${id} (${ws.tableRef(id).location}) has no commits yet: run the pipeline first (lakelet run -c ${ws.config.file})`);
}

