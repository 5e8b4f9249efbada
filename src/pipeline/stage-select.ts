import { sqlIdent, sqlString, type Compute } from '../adapters/compute/duckdb.ts';
import type { PipelineConfig, TransformSpec } from './config.ts';
import { FileRejectedError } from './errors.ts';
import { duckdbReadError, type RawInput } from './file-reader.ts';

/**
 * Turns a batch's raw files into the rows of the stage table: transforms first (epoch → UTC
 * timestamp, cast, rename — so the stage holds clean types), then the schema-drift policy against
 * the columns the stage table already has, then the lineage columns.
 *
 *   evolve  new columns are added (the stage write uses mergeSchema)
 *   rescue  new columns, and values that do not cast to the established type, go into
 *           `_rescued_data` (a JSON object of the original text values); casts are TRY_CASTs
 *   fail    a file with a new column or an uncastable value is quarantined
 *   ignore  new columns are dropped
 *
 * The first file the stage ever sees establishes its columns.
 */
export const LINEAGE = ['_batch', '_source_file', '_ingested_at', '_row_number'] as const;
export const RESCUED = '_rescued_data';

export interface Column {
  name: string;
  type: string;
}

interface Derived {
  name: string;
  expr: string;
  type: string;
  /** For rescue: the value before a TRY_CAST, to keep when the cast fails. */
  original?: string;
}

export interface FilePlan {
  key: string;
  raw: RawInput;
  derived: Derived[];
}

export interface StagePlan {
  columns: Column[];
  /** Columns added to the stage by this batch (evolve, or the first batch). */
  added: string[];
}

/** Checks each file's columns against the established ones, growing them under evolve. Throws per file. */
export function planFile(pipeline: PipelineConfig, key: string, raw: RawInput, established: Column[], firstSight: boolean): FilePlan {
  const rescue = pipeline.schemaDrift === 'rescue';
  const derived: Derived[] = raw.columns.map((c) => transform(c, pipeline.transforms[c.name], rescue));
  const seen = new Set<string>();
  for (const d of derived) {
    if (seen.has(d.name.toLowerCase())) throw new FileRejectedError('schema', `two columns are named '${d.name}' after transforms (check rename)`);
    seen.add(d.name.toLowerCase());
    if ((LINEAGE as readonly string[]).includes(d.name) || d.name === RESCUED) {
      throw new FileRejectedError('schema', `column '${d.name}' is reserved for lineage; rename it with transforms.${d.name}.rename`);
    }
  }
  if (raw.records > 0) {
    for (const k of [...pipeline.key, ...(pipeline.orderBy ? [pipeline.orderBy] : [])]) {
      if (!derived.some((d) => d.name.toLowerCase() === k.toLowerCase())) {
        throw new FileRejectedError('schema', `the file has no '${k}' column (needed as ${pipeline.key.includes(k) ? 'key' : 'orderBy'}); its columns: ${derived.map((d) => d.name).join(', ')}`);
      }
    }
  }
  const newColumns = derived.filter((d) => !established.some((e) => e.name.toLowerCase() === d.name.toLowerCase()));
  if (newColumns.length > 0 && !firstSight && pipeline.schemaDrift === 'fail') {
    throw new FileRejectedError('schema', `new column${newColumns.length > 1 ? 's' : ''} ${newColumns.map((c) => `'${c.name}' ${c.type}`).join(', ')} not in the stage table (schemaDrift: fail)`, undefined, 'use schemaDrift: evolve to add them, rescue to keep them in _rescued_data, or ignore to drop them');
  }
  if (firstSight || pipeline.schemaDrift === 'evolve') {
    for (const c of newColumns) established.push({ name: c.name, type: c.type });
  }
  return { key, raw, derived };
}

function transform(c: Column, t: TransformSpec | undefined, rescue: boolean): Derived {
  const col = sqlIdent(c.name);
  const name = t?.rename ?? c.name;
  if (t?.epoch) {
    const cast = rescue ? 'TRY_CAST' : 'CAST';
    const num = t.epoch === 'seconds' ? `${cast}(${col} AS DOUBLE)` : `${cast}(${col} AS BIGINT)`;
    const expr =
      t.epoch === 'seconds' ? `to_timestamp(${num})` : t.epoch === 'millis' ? `CAST(epoch_ms(${num}) AS TIMESTAMPTZ)` : `CAST(make_timestamp(${num}) AS TIMESTAMPTZ)`;
    return { name, expr, type: 'TIMESTAMP WITH TIME ZONE', ...(rescue ? { original: col } : {}) };
  }
  if (t?.cast) {
    return { name, expr: `${rescue ? 'TRY_CAST' : 'CAST'}(${col} AS ${t.cast})`, type: normalizeType(t.cast), ...(rescue ? { original: col } : {}) };
  }
  return { name, expr: col, type: c.type };
}

/** DuckDB spells some types differently in DESCRIBE than users write them. */
function normalizeType(t: string): string {
  const u = t.trim().toUpperCase().replace(/\s+/g, ' ');
  const aliases: Record<string, string> = {
    INT: 'INTEGER', INT4: 'INTEGER', INT8: 'BIGINT', LONG: 'BIGINT', STRING: 'VARCHAR', TEXT: 'VARCHAR', FLOAT8: 'DOUBLE', FLOAT: 'FLOAT', REAL: 'FLOAT',
    BOOL: 'BOOLEAN', TIMESTAMPTZ: 'TIMESTAMP WITH TIME ZONE', DATETIME: 'TIMESTAMP', NUMERIC: 'DECIMAL(18,3)', DECIMAL: 'DECIMAL(18,3)',
  };
  return aliases[u] ?? u;
}

/**
 * The SELECT for one file: the established columns in order (NULL where the file lacks one),
 * `_rescued_data` under rescue, and lineage.
 */
export function fileSelect(pipeline: PipelineConfig, plan: FilePlan, columns: Column[], lineage: { batch: number; ingestedAt: number }): string {
  const rescue = pipeline.schemaDrift === 'rescue';
  const outputs: string[] = [];
  const rescued: string[] = [];
  const asText = (expr: string, type: string) => (/^(STRUCT|MAP|UNION)|\[\]$/.test(type) ? `CAST(to_json(${expr}) AS VARCHAR)` : `CAST(${expr} AS VARCHAR)`);
  for (const col of columns) {
    const d = plan.derived.find((x) => x.name.toLowerCase() === col.name.toLowerCase());
    if (!d) {
      outputs.push(`CAST(NULL AS ${col.type}) AS ${sqlIdent(col.name)}`);
      continue;
    }
    const sameType = d.type === col.type;
    const expr = sameType ? d.expr : convert(d.expr, d.type, col, rescue);
    outputs.push(`${expr} AS ${sqlIdent(col.name)}`);
    if (rescue && (d.original || !sameType)) {
      const source = d.original ?? d.expr;
      rescued.push(`struct_pack(k := ${sqlString(col.name)}, v := CASE WHEN ${source} IS NOT NULL AND (${expr}) IS NULL THEN ${asText(source, d.type)} END)`);
    }
  }
  if (rescue) {
    for (const d of plan.derived) {
      if (!columns.some((c) => c.name.toLowerCase() === d.name.toLowerCase())) rescued.push(`struct_pack(k := ${sqlString(d.name)}, v := ${asText(d.expr, d.type)})`);
    }
    const value = rescued.length
      ? `CASE WHEN len(list_filter([${rescued.join(', ')}], x -> x.v IS NOT NULL)) > 0 THEN CAST(to_json(map_from_entries(list_filter([${rescued.join(', ')}], x -> x.v IS NOT NULL))) AS VARCHAR) END`
      : 'CAST(NULL AS VARCHAR)';
    outputs.push(`${value} AS ${RESCUED}`);
  }
  outputs.push(
    `CAST(${lineage.batch} AS BIGINT) AS _batch`,
    `${sqlString(plan.key)} AS _source_file`,
    `CAST(epoch_ms(CAST(${lineage.ingestedAt} AS BIGINT)) AS TIMESTAMPTZ) AS _ingested_at`,
    `CAST(row_number() OVER () AS BIGINT) AS _row_number`,
  );
  return `SELECT ${outputs.join(', ')} FROM (${plan.raw.sql})`;
}

const NESTED = /^(STRUCT|MAP|UNION)|\[\]$/;

/**
 * A value of the file's type in the column's established type, never silently changed: a cast that
 * loses information (1.5 → BIGINT 2, '007' → 7, 'x' → NULL) is an error (the file is quarantined),
 * or under rescue a NULL whose original goes to `_rescued_data`.
 */
function convert(expr: string, from: string, col: Column, rescue: boolean): string {
  if (NESTED.test(from) || NESTED.test(col.type)) return `${rescue ? 'TRY_CAST' : 'CAST'}(${expr} AS ${col.type})`;
  const cast = `TRY_CAST(${expr} AS ${col.type})`;
  const lossless = `TRY_CAST(${cast} AS ${from}) IS NOT DISTINCT FROM ${expr}`;
  const failure = rescue
    ? 'NULL'
    : `error('value ' || CAST(${expr} AS VARCHAR) || ' does not fit column ${col.name.replace(/'/g, "''")} ${col.type} without loss')`;
  return `CASE WHEN ${expr} IS NULL THEN NULL WHEN ${lossless} THEN ${cast} ELSE ${failure} END`;
}

/** Runs the file's SELECT once so a failing CAST rejects the file before the batch commits. */
export async function checkFileSelect(compute: Compute, sql: string): Promise<{ rows: number; rescued: number }> {
  try {
    const hasRescue = sql.includes(` AS ${RESCUED},`);
    // Every column is used (the whole row as a struct), so no cast is optimized away.
    const r = await compute.query<{ n: string | number; r: string | number }>(`SELECT count(*) AS n, ${hasRescue ? `count(__t.${RESCUED})` : '0'} AS r, max(length(CAST(__t AS VARCHAR))) AS w FROM (${sql}) __t`);
    return { rows: Number(r[0].n), rescued: Number(r[0].r) };
  } catch (err) {
    const e = duckdbReadError('cast', err);
    throw new FileRejectedError('cast', `${e.detail} (a value does not fit the column type the stage table has)`, e.position, 'use schemaDrift: rescue to keep such values in _rescued_data');
  }
}
