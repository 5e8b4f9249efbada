import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';
import { UiRequestError } from '../errors.ts';

/**
 * The row filter of the preview: conditions on one column each, ANDed. Never raw SQL from the
 * browser: DuckDB can read any file the process can (read_text('/etc/passwd') in a subquery), so
 * the column must be one of the table's and the value is always a quoted literal (DuckDB casts it
 * to the column's type, and file skipping still sees `column op literal`).
 */
export const FILTER_OPS = ['=', '!=', '<', '<=', '>', '>=', 'contains', 'is null', 'is not null'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

export interface Filter {
  column: string;
  op: FilterOp;
  value?: string;
}

/** `filters` as the browser sends it (JSON), checked against the table's columns. */
export function parseFilters(text: string | null, columns: string[]): Filter[] {
  if (!text) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UiRequestError(400, `filters must be a JSON array of {column, op, value}; got ${text.slice(0, 100)}`);
  }
  if (!Array.isArray(raw)) throw new UiRequestError(400, 'filters must be a JSON array of {column, op, value}');
  return raw.map((f: unknown) => {
    const { column, op, value } = (f ?? {}) as Record<string, unknown>;
    const name = columns.find((c) => c.toLowerCase() === String(column).toLowerCase());
    if (typeof column !== 'string' || !name) throw new UiRequestError(400, `no column '${String(column)}' to filter on; the columns are ${columns.join(', ')}`);
    if (!FILTER_OPS.includes(op as FilterOp)) throw new UiRequestError(400, `unknown filter operator '${String(op)}'; use one of ${FILTER_OPS.join(', ')}`);
    const needsValue = op !== 'is null' && op !== 'is not null';
    if (needsValue && typeof value !== 'string' && typeof value !== 'number') throw new UiRequestError(400, `the filter on ${name} (${String(op)}) needs a value`);
    return { column: name, op: op as FilterOp, ...(needsValue ? { value: String(value) } : {}) };
  });
}

/** The SQL predicate of the filters (undefined when there are none). */
export function filterSql(filters: Filter[]): string | undefined {
  if (filters.length === 0) return undefined;
  return filters.map(conditionSql).join(' AND ');
}

function conditionSql(f: Filter): string {
  const col = sqlIdent(f.column);
  switch (f.op) {
    case 'is null':
      return `${col} IS NULL`;
    case 'is not null':
      return `${col} IS NOT NULL`;
    case 'contains':
      return `contains(lower(CAST(${col} AS VARCHAR)), ${sqlString(f.value!.toLowerCase())})`;
    default:
      return `${col} ${f.op} ${sqlString(f.value!)}`;
  }
}
