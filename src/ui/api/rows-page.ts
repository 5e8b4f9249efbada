import type { Compute, ColumnType } from '../../adapters/compute/compute.ts';
import { sqlIdent } from '../../adapters/compute/sql.ts';

/**
 * One page of a query's rows, as the browser shows them: DuckDB counts and cuts the page
 * (LIMIT/OFFSET), so a page costs one pass over the data and never the whole table in memory.
 * Values come JSON-safe from the compute port (64-bit integers and decimals as strings), binary as
 * base64.
 */
export interface RowsPage {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  total: number;
  offset: number;
  limit: number;
}

export const MAX_PAGE = 500;

/**
 * `order`: column names, each optionally followed by DESC (terms whose column the result lacks are
 * dropped); `orderSql` (server-written SQL, never from a request) goes first when given.
 */
export async function rowsPage(compute: Compute, sql: string, options: { order: string[]; orderSql?: string; limit: number; offset: number }): Promise<RowsPage> {
  const described = await compute.describe(sql);
  const names = new Set(described.map((c) => c.name.toLowerCase()));
  // Only order terms whose column the result has (a stage without _row_number, say).
  const order = options.order.filter((term) => names.has(term.split(' ')[0].toLowerCase()));
  const terms = [...(options.orderSql ? [options.orderSql] : []), ...order.map((t) => { const [c, dir] = t.split(' '); return `${sqlIdent(c)}${dir ? ` ${dir === 'DESC' ? 'DESC' : 'ASC'}` : ''}`; })];
  const orderSql = terms.length ? ` ORDER BY ${terms.join(', ')}` : '';
  const binary = described.filter((c) => c.type.kind === 'scalar' && c.type.name === 'BLOB');
  const replace = binary.length ? ` REPLACE (${binary.map((c) => `to_base64(${sqlIdent(c.name)}) AS ${sqlIdent(c.name)}`).join(', ')})` : '';
  const [counted] = await compute.query<{ n: string | number }>(`SELECT count(*) AS n FROM (${sql})`);
  const rows = await compute.query(`SELECT *${replace} FROM (${sql})${orderSql} LIMIT ${options.limit} OFFSET ${options.offset}`);
  return {
    columns: described.map((c) => ({ name: c.name, type: typeName(c.type) })),
    rows: rows.map((r) => described.map((c) => r[c.name] ?? null)),
    total: Number(counted.n),
    offset: options.offset,
    limit: options.limit,
  };
}

export function typeName(t: ColumnType): string {
  switch (t.kind) {
    case 'scalar':
      return t.name;
    case 'list':
      return `${typeName(t.element)}[]`;
    case 'map':
      return `MAP(${typeName(t.key)}, ${typeName(t.value)})`;
    case 'struct':
      return `STRUCT(${t.fields.map((f) => `${f.name} ${typeName(f.type)}`).join(', ')})`;
  }
}
