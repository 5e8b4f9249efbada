import { createHash } from 'node:crypto';
import picomatch from 'picomatch';
import type { SourceTable } from '../../adapters/sources/source.ts';
import type { KeyDiff, SourceConfig } from '../source-config.ts';

/** What a sync does with one source table, decided from its columns and the source's settings. */
export type TablePlan =
  | { table: SourceTable; id: string; slug: string; mode: 'incremental'; watermark: string; softDelete?: string; keyDiff?: KeyDiff }
  | { table: SourceTable; id: string; slug: string; mode: 'full'; softDelete?: string; keyDiff?: KeyDiff }
  | { table: SourceTable; id: string; slug: string; mode: 'skip'; reason: string };

/**
 * A folder and pipeline name for a table, whatever its name holds (spaces, quotes, slashes,
 * non-ASCII): safe characters kept, a short hash of the real name added when any were replaced.
 */
export function tableSlug(schema: string, name: string, defaultSchema: boolean): string {
  const full = defaultSchema ? name : `${schema}.${name}`;
  const safe = full.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
  return safe === full ? safe : `${safe}-${createHash('sha256').update(full).digest('hex').slice(0, 8)}`;
}

/** The tables of a source to sync and how: listed ones (any missing is an error), or discovered. */
export function planTables(source: SourceConfig, all: SourceTable[], defaultSchema: string): { plans: TablePlan[]; missing: string[] } {
  const id = (t: SourceTable) => (t.schema === defaultSchema ? t.name : `${t.schema}.${t.name}`);
  let chosen: SourceTable[];
  const missing: string[] = [];
  if (source.tables) {
    chosen = [];
    for (const wanted of source.tables) {
      const t = all.find((x) => id(x) === wanted || `${x.schema}.${x.name}` === wanted);
      if (t) chosen.push(t);
      else missing.push(wanted);
    }
  } else {
    const include = picomatch(source.discover.include, { dot: true });
    const exclude = source.discover.exclude.length ? picomatch(source.discover.exclude, { dot: true }) : () => false;
    chosen = all.filter((t) => include(id(t)) && !exclude(id(t)));
  }
  const plans = chosen.map((found): TablePlan => {
    const options = source.tableOptions[id(found)] ?? {};
    // A key from lakelet.yml where the source declares none (or another one).
    const table = options.key ? { ...found, primaryKey: options.key } : found;
    const base = { table, id: id(table), slug: tableSlug(table.schema, table.name, table.schema === defaultSchema) };
    const unknownKey = options.key?.filter((k) => !table.columns.some((c) => c.name === k)) ?? [];
    if (unknownKey.length) return { ...base, mode: 'skip', reason: `tableOptions.${base.id}.key names ${unknownKey.join(', ')}, which the table does not have` };
    const softDelete = options.softDelete ?? (source.softDelete && table.columns.some((c) => c.name === source.softDelete) ? source.softDelete : undefined);
    const keyDiff = options.keyDiff === false ? undefined : (options.keyDiff ?? source.keyDiff);
    if (table.primaryKey.length === 0) return { ...base, mode: 'skip', reason: 'no primary key (a MERGE needs one; set tableOptions.<table>.key)' };
    const names = options.watermark ? [options.watermark] : source.watermark;
    const watermark = names.map((n) => table.columns.find((c) => c.name.toLowerCase() === n.toLowerCase() && c.watermark)).find((c) => c !== undefined);
    const deletes = { ...(softDelete ? { softDelete } : {}), ...(keyDiff ? { keyDiff } : {}) };
    if (keyDiff?.recentMs !== undefined && watermark?.watermark === 'integer') {
      return { ...base, mode: 'skip', reason: `keyDiff.recent needs a date or time watermark column, and ${watermark.name} is an integer; drop recent (compare every key) or set tableOptions.<table>.watermark` };
    }
    if (watermark) return { ...base, mode: 'incremental', watermark: watermark.name, ...deletes };
    if (source.withoutWatermark === 'full') return { ...base, mode: 'full', ...(softDelete ? { softDelete } : {}), ...(keyDiff ? { keyDiff: {} } : {}) };
    return { ...base, mode: 'skip', reason: `no watermark column (looked for ${names.join(', ')} of a date, time or integer type); set withoutWatermark: full to re-read it whole, or tableOptions.<table>.watermark` };
  });
  return { plans, missing };
}
