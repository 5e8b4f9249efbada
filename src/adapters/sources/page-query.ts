import type { KeyScope, PageRequest, SourceColumn, SourceTable, TextRow, WatermarkKind } from './source.ts';

/**
 * The page query both vendors build, in their own quoting and parameter style: columns by name,
 * the lookback lower bound and the keyset position as bound parameters (never spliced), ordered by
 * (watermark, key). Rows whose watermark is NULL are never in an incremental page (they cannot be
 * ordered against a position): they are read by key alone with `nullWatermark` (every run, as a
 * table without a watermark pages by key alone).
 */
export interface Dialect {
  ident(name: string): string;
  /** The n-th (1-based) parameter placeholder; `column`: the column the value is compared with (a typed dialect casts to its type). */
  param(n: number, column?: SourceColumn): string;
  /** `column >= value - lookback (µs)` for a column of this kind, with the two parameter placeholders. */
  sinceCondition(column: string, kind: WatermarkKind, value: string, lookbackMicros: string): string;
  /** The select-list entry of a column (default: the column itself); a dialect may turn values into text here. */
  select?(column: SourceColumn): string;
}

export function pageQuery(d: Dialect, req: PageRequest): { sql: string; params: unknown[] } {
  const { table } = req;
  const params: unknown[] = [];
  const next = (v: unknown, column?: string) => {
    params.push(v);
    return d.param(params.length, column === undefined ? undefined : table.columns.find((c) => c.name === column));
  };
  // The rows whose watermark is NULL: paged by key alone, with no lower bound to apply.
  const nulls = req.watermark !== undefined && req.nullWatermark === true;
  const ordered = req.watermark !== undefined && !nulls;
  const order = [...(ordered ? [req.watermark!] : []), ...table.primaryKey];
  const where: string[] = [];
  if (req.watermark) where.push(`${d.ident(req.watermark)} IS ${nulls ? '' : 'NOT '}NULL`);
  if (req.since && ordered) {
    const kind = table.columns.find((c) => c.name === req.watermark)?.watermark ?? 'integer';
    where.push(d.sinceCondition(d.ident(req.watermark!), kind, next(req.since.value, req.watermark), next(kind === 'integer' ? 0 : req.since.lookbackMs * 1000)));
  }
  if (req.after) where.push(afterKey(d, order, [...(ordered ? [req.after.value] : []), ...req.after.key], next));
  const sql =
    `SELECT ${table.columns.map((c) => (d.select ? d.select(c) : d.ident(c.name))).join(', ')} FROM ${from(d, table)}` +
    (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY ${order.map((c) => d.ident(c)).join(', ')} LIMIT ${next(req.limit)}`;
  return { sql, params };
}

/**
 * A page of primary keys in key order (key-diff deletes). `since` scopes it to rows whose watermark
 * column is at least `value` minus `lookbackMs` (a recent range), bound like the page query's.
 */
export function keysQuery(d: Dialect, table: SourceTable, after: string[] | undefined, limit: number, since?: KeyScope): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const next = (v: unknown, column?: string) => {
    params.push(v);
    return d.param(params.length, column === undefined ? undefined : table.columns.find((c) => c.name === column));
  };
  const keys = table.primaryKey;
  const conds: string[] = [];
  if (since) {
    const kind = table.columns.find((c) => c.name === since.column)?.watermark ?? 'integer';
    conds.push(d.sinceCondition(d.ident(since.column), kind, next(since.value, since.column), next(kind === 'integer' ? 0 : since.lookbackMs * 1000)));
  }
  if (after) conds.push(afterKey(d, keys, after, next));
  const where = conds.length ? ` WHERE ${conds.join(' AND ')}` : '';
  const select = keys.map((k) => {
    const c = table.columns.find((x) => x.name === k);
    return d.select && c ? d.select(c) : d.ident(k);
  });
  return { sql: `SELECT ${select.join(', ')} FROM ${from(d, table)}${where} ORDER BY ${keys.map((k) => d.ident(k)).join(', ')} LIMIT ${next(limit)}`, params };
}

function from(d: Dialect, table: SourceTable): string {
  return `${d.ident(table.schema)}.${d.ident(table.name)}`;
}


/** (c1, c2, …) > (v1, v2, …), spelled out (both vendors use an index for this form). */
function afterKey(d: Dialect, cols: string[], values: unknown[], next: (v: unknown, column: string) => string): string {
  const ors: string[] = [];
  for (let i = 0; i < cols.length; i++) {
    const eq = cols.slice(0, i).map((c, j) => `${d.ident(c)} = ${next(values[j], c)}`);
    ors.push(`(${[...eq, `${d.ident(cols[i])} > ${next(values[i], cols[i])}`].join(' AND ')})`);
  }
  return `(${ors.join(' OR ')})`;
}

/**
 * Every primary key of a table in key order, page after page (keyset paging from the last key
 * read), through `run`, the vendor's streaming query: what a key diff compares with the target.
 */
export async function* keyPages(
  d: Dialect,
  table: SourceTable,
  pageSize: number,
  since: KeyScope | undefined,
  run: (sql: string, params: unknown[]) => AsyncIterable<TextRow>,
): AsyncIterable<TextRow> {
  let after: string[] | undefined;
  for (;;) {
    const { sql, params } = keysQuery(d, table, after, pageSize, since);
    let n = 0;
    for await (const row of run(sql, params)) {
      n++;
      after = row as string[];
      yield row;
    }
    if (n < pageSize) return;
  }
}
