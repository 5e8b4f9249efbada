import type { Compute } from '../adapters/compute/compute.ts';
import { sqlIdent, sqlString } from '../adapters/compute/sql.ts';
import type { PipelineConfig, TransformSpec } from './config.ts';
import { FileRejectedError } from './errors.ts';
import { delimiterHint, duckdbReadError, REC, type BadRecord, type RawInput } from './file-reader.ts';

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
 * The first file with records the stage ever sees establishes its columns (a file without records
 * fixes no type: a header-only CSV would make every column VARCHAR).
 *
 * A value that does not fit (a failed cast or epoch transform, a lossy conversion to the
 * established type) is, by `badRecords` (unless schemaDrift: rescue already rescues it):
 *
 *   quarantine-file  its record is a bad record: left out of the stage (see bad-records.ts)
 *   rescue           NULL, its text in `_rescued_data`; the record counts as bad
 *   fail-file        an error: the whole file is quarantined
 */
export const LINEAGE = ['_batch', '_source_file', '_ingested_at', '_row_number'] as const;
export const RESCUED = '_rescued_data';

export interface Column {
  name: string;
  type: string;
}

interface Derived {
  name: string;
  /** The value; NULL where a transform cannot make one from a non-NULL source value. */
  expr: string;
  type: string;
  /** For a transform: the raw value and its type, and why it cannot be transformed (SQL text). */
  source?: { expr: string; type: string; reason: string };
}

export interface FilePlan {
  key: string;
  raw: RawInput;
  derived: Derived[];
  /** The file's bad records, in file order (set by settleBadRecords). */
  bad: BadRecord[];
  /** Rows the file puts into the stage. */
  rows: number;
  /** Bad records left out of the stage (badRecords: quarantine-file). */
  leftOut: number;
  /** SQL for `_source_file` when the rows come from several files (group-select.ts); default: the key. */
  sourceFile?: string;
}

/** How values that do not fit, and records that cannot be read, are handled (schemaDrift × badRecords). */
export interface BadPolicy {
  /** A value that does not fit becomes NULL, its text kept in `_rescued_data`. */
  rescueValues: boolean;
  /** A value that does not fit fails the file (badRecords: fail-file, today's behaviour). */
  strict: boolean;
  /** A record with a value that does not fit is a bad record (schemaDrift: rescue keeps such values as before). */
  valueIsBad: boolean;
  /** Bad records stay out of the stage (quarantine-file), rather than being staged (rescue). */
  leaveOut: boolean;
}

export function badPolicy(p: PipelineConfig): BadPolicy {
  const driftRescue = p.schemaDrift === 'rescue';
  return {
    rescueValues: driftRescue || p.badRecords === 'rescue',
    strict: !driftRescue && p.badRecords === 'fail-file',
    valueIsBad: !driftRescue && p.badRecords !== 'fail-file',
    leaveOut: p.badRecords === 'quarantine-file',
  };
}

/** Checks each file's columns against the established ones, growing them under evolve. Throws per file. */
export function planFile(pipeline: PipelineConfig, key: string, raw: RawInput, established: Column[], firstSight: boolean): FilePlan {
  const derived: Derived[] = raw.columns.map((c) => transform(c, pipeline.transforms[c.name]));
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
        const role = pipeline.key.includes(k) ? 'key' : 'orderBy';
        const columns = derived.map((d) => d.name).join(', ');
        // A CSV file read as one column: most likely split with the wrong delimiter.
        const split = raw.delimiter !== undefined && derived.length === 1;
        const rename = `add the column to the file, or name the file's own column as the ${role} with transforms: { <column>: { rename: ${k} } } in lakelet.yml; then run \`lakelet requeue ${key} -p ${pipeline.name}\``;
        throw new FileRejectedError(
          'schema',
          `the file has no '${k}' column (needed as ${role}); its columns: ${columns}${raw.delimiter !== undefined ? ` (read with delimiter ${JSON.stringify(raw.delimiter)})` : ''}`,
          undefined,
          split ? `${delimiterHint(pipeline, raw.delimiter!)}; otherwise ${rename}` : rename,
        );
      }
    }
  }
  const newColumns = derived.filter((d) => !established.some((e) => e.name.toLowerCase() === d.name.toLowerCase()));
  if (newColumns.length > 0 && !firstSight && pipeline.schemaDrift === 'fail') {
    throw new FileRejectedError('schema', `new column${newColumns.length > 1 ? 's' : ''} ${newColumns.map((c) => `'${c.name}' ${c.type}`).join(', ')} not in the stage table (schemaDrift: fail)`, undefined, 'use schemaDrift: evolve to add them, rescue to keep them in _rescued_data, or ignore to drop them');
  }
  // Without records a file's types are guesses (a header-only CSV reads as all VARCHAR): they fix nothing.
  if ((firstSight || pipeline.schemaDrift === 'evolve') && raw.records > 0) {
    for (const c of newColumns) established.push({ name: c.name, type: c.type });
  }
  return { key, raw, derived, bad: raw.bad, rows: raw.records, leftOut: 0 };
}

function transform(c: Column, t: TransformSpec | undefined): Derived {
  const col = sqlIdent(c.name);
  const name = t?.rename ?? c.name;
  if (t?.epoch) {
    const e = epochSql(col, t.epoch, c.name);
    return { name, expr: e.expr, type: 'TIMESTAMP WITH TIME ZONE', source: { expr: col, type: c.type, reason: e.reason } };
  }
  if (t?.cast) {
    const reason = `${sqlString(`column '${c.name}': value `)} || CAST(${col} AS VARCHAR) || ${sqlString(` does not cast to ${t.cast} (transforms.${c.name}.cast)`)}`;
    return { name, expr: `TRY_CAST(${col} AS ${t.cast})`, type: normalizeType(t.cast), source: { expr: col, type: c.type, reason } };
  }
  return { name, expr: col, type: c.type };
}

/**
 * Plausible epoch timestamps are 1971-01-01 ≤ t < 2100-01-01. That span is less than a factor
 * 1000 wide, so the ranges of the units never overlap and a value fits one unit at most:
 *
 *   seconds  31,536,000 ≤ v < 4,102,444,800
 *   millis   31,536,000,000 ≤ v < 4,102,444,800,000
 *   micros   31,536,000,000,000 ≤ v < 4,102,444,800,000,000
 *   nanos    31,536,000,000,000,000 ≤ v < 4,102,444,800,000,000,000   (auto only)
 *
 * A fixed unit refuses a value outside its range (seconds read as millis would be January 1970),
 * naming the unit it looks like; `auto` takes each value's unit from its range.
 */
const EPOCH_FROM_S = 31_536_000; // 1971-01-01T00:00:00Z
const EPOCH_TO_S = 4_102_444_800; // 2100-01-01T00:00:00Z
const EPOCH_UNITS = [
  ['seconds', 1],
  ['millis', 1_000],
  ['micros', 1_000_000],
  ['nanos', 1_000_000_000],
] as const;
type EpochUnit = (typeof EPOCH_UNITS)[number][0];

function epochSql(col: string, unit: EpochUnit | 'auto', column: string): { expr: string; reason: string } {
  // Exact decimal arithmetic: a double would shift nanosecond values by a microsecond.
  const num = `TRY_CAST(${col} AS DECIMAL(38,9))`;
  const inRange = (perSecond: number) => `(${num} >= ${EPOCH_FROM_S * perSecond} AND ${num} < ${EPOCH_TO_S * perSecond})`;
  const micros = (perSecond: number) => `CAST(make_timestamp(CAST(round(${num} * ${perSecond === 1e9 ? '0.001' : String(1e6 / perSecond)}) AS BIGINT)) AS TIMESTAMPTZ)`;
  const units = unit === 'auto' ? EPOCH_UNITS : EPOCH_UNITS.filter(([u]) => u === unit);
  const expr = `CASE ${units.map(([, per]) => `WHEN ${inRange(per)} THEN ${micros(per)}`).join(' ')} END`;
  const value = `${sqlString(`column '${column}': epoch value `)} || CAST(${col} AS VARCHAR)`;
  const range = (per: number) => `${EPOCH_FROM_S * per} to ${EPOCH_TO_S * per}`;
  const looksLike = EPOCH_UNITS.filter(([u]) => u !== unit).map(([u, per]) => `WHEN ${inRange(per)} THEN ${sqlString(`; it looks like epoch ${u} (use epoch: ${u === 'nanos' ? 'auto' : `${u} or auto`})`)}`);
  const why =
    unit === 'auto'
      ? sqlString(' is not a plausible epoch in seconds, millis, micros or nanos (1971-01-01 to 2100-01-01)')
      : `${sqlString(` is not a plausible epoch in ${unit} (1971-01-01 to 2100-01-01 is ${range(units[0][1])})`)} || coalesce(CASE ${looksLike.join(' ')} END, '')`;
  const reason = `CASE WHEN ${num} IS NULL THEN ${value} || ' is not a number' ELSE ${value} || ${why} END`;
  return { expr, reason };
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

/** A column the file can lose a value of: SQL true when a non-NULL value does not survive, and why. */
interface Check {
  name: string;
  lost: string;
  reason: string;
  /** The value as it came, as text (what rescue keeps). */
  text: string;
}

/** The established columns' values for one file (NULL where lost), and the checks that say where. */
function columnValues(plan: FilePlan, columns: Column[]): { values: { name: string; value: string }[]; checks: Check[] } {
  const values: { name: string; value: string }[] = [];
  const checks: Check[] = [];
  for (const col of columns) {
    const d = plan.derived.find((x) => x.name.toLowerCase() === col.name.toLowerCase());
    if (!d) {
      values.push({ name: col.name, value: `CAST(NULL AS ${col.type})` });
      continue;
    }
    const sameType = d.type === col.type;
    const value = sameType ? d.expr : convert(d.expr, d.type, col.type);
    values.push({ name: col.name, value });
    if (!d.source && sameType) continue;
    const source = d.source ?? { expr: d.expr, type: d.type, reason: '' };
    const fit = `${sqlString(`value `)} || CAST(${d.expr} AS VARCHAR) || ${sqlString(` does not fit column ${col.name} ${col.type} without loss${epochHint(d, col)}`)}`;
    const reason = !d.source ? fit : sameType ? d.source.reason : `CASE WHEN (${d.expr}) IS NULL THEN ${d.source.reason} ELSE ${fit} END`;
    checks.push({ name: col.name, lost: `((${source.expr}) IS NOT NULL AND (${value}) IS NULL)`, reason, text: asText(source.expr, source.type) });
  }
  return { values, checks };
}

/**
 * A number meeting a date or timestamp column is most likely epoch time (seconds, millis…), which
 * a cast does not read: say which transform does.
 */
function epochHint(d: Derived, col: Column): string {
  const number = EXACT_NUMBER.test(d.type) || FLOATING.test(d.type);
  const moment = col.type === 'DATE' || col.type.startsWith('TIMESTAMP');
  return number && moment && !d.source ? ` (a number: if it is epoch time, add transforms: { ${d.name}: { epoch: auto } } to the pipeline in lakelet.yml)` : '';
}

const asText = (expr: string, type: string) => (NESTED.test(type) ? `CAST(to_json(${expr}) AS VARCHAR)` : `CAST(${expr} AS VARCHAR)`);

/** Why a row cannot be staged as it is (the first column that loses a value), or NULL. */
function rowErrorSql(checks: Check[]): string | undefined {
  if (checks.length === 0) return undefined;
  return `coalesce(${checks.map((c) => `CASE WHEN ${c.lost} THEN ${c.reason} END`).join(', ')})`;
}

/**
 * The SELECT for one file: the established columns in order (NULL where the file lacks one),
 * `_rescued_data` when values are rescued, and lineage. Under quarantine-file the records with a
 * value that does not fit are left out; under badRecords: rescue the records that could not be
 * read at all are staged too, every column NULL and `_rescued_data` holding
 * `{"_corrupt_record": <text>, "_error": <why>, "_line": <n>}` (Databricks' corrupt-record
 * convention): their columns (the key too) cannot be trusted, so they stay in the stage and are
 * not merged.
 */
export function fileSelect(
  pipeline: PipelineConfig,
  plan: FilePlan,
  columns: Column[],
  lineage: { batch: number; ingestedAt: number },
  /** For the plan-time check: keep every record and say in `__lakelet_error` which are bad. */
  options: { flagBad?: boolean } = {},
): string {
  const policy = badPolicy(pipeline);
  const { values, checks } = columnValues(plan, columns);
  const outputs = values.map((v) => {
    const c = checks.find((x) => x.name === v.name);
    const value = c && policy.strict ? `CASE WHEN ${c.lost} THEN error(${c.reason}) ELSE ${v.value} END` : v.value;
    return `${value} AS ${sqlIdent(v.name)}`;
  });
  if (policy.rescueValues) {
    const rescued = checks.map((c) => `struct_pack(k := ${sqlString(c.name)}, v := CASE WHEN ${c.lost} THEN ${c.text} END)`);
    if (pipeline.schemaDrift === 'rescue') {
      for (const d of plan.derived) {
        if (!columns.some((c) => c.name.toLowerCase() === d.name.toLowerCase())) rescued.push(`struct_pack(k := ${sqlString(d.name)}, v := ${asText(d.expr, d.type)})`);
      }
    }
    const value = rescued.length
      ? `CASE WHEN len(list_filter([${rescued.join(', ')}], x -> x.v IS NOT NULL)) > 0 THEN CAST(to_json(map_from_entries(list_filter([${rescued.join(', ')}], x -> x.v IS NOT NULL))) AS VARCHAR) END`
      : 'CAST(NULL AS VARCHAR)';
    outputs.push(`${value} AS ${RESCUED}`);
  }
  const lineageCols = (rowNumber: string) => [
    `CAST(${lineage.batch} AS BIGINT) AS _batch`,
    `${plan.sourceFile ?? sqlString(plan.key)} AS _source_file`,
    `CAST(epoch_ms(CAST(${lineage.ingestedAt} AS BIGINT)) AS TIMESTAMPTZ) AS _ingested_at`,
    `CAST(${rowNumber} AS BIGINT) AS _row_number`,
  ];
  const rowError = rowErrorSql(checks);
  const flag = options.flagBad && policy.valueIsBad;
  // Records with a value that does not fit are left out; a file whose check found none (its plan
  // has no bad records) needs no filter. Unfiltered, a record's row number is its place in the file
  // (REC + 1), with no window to compute; filtered, the staged rows are numbered 1.. in file order.
  const filter = !flag && policy.valueIsBad && !policy.rescueValues && rowError !== undefined && plan.bad.length > 0;
  const from = filter ? `(SELECT * FROM (${plan.raw.sql}) WHERE ${rowError} IS NULL)` : `(${plan.raw.sql})`;
  const rowNumber = filter ? `row_number() OVER (ORDER BY ${REC})` : `${REC} + 1`;
  const good = `SELECT ${[...outputs, ...lineageCols(rowNumber), ...(flag ? [`${rowError ?? 'CAST(NULL AS VARCHAR)'} AS ${BAD_FLAG}`] : [])].join(', ')} FROM ${from}`;
  if (pipeline.badRecords !== 'rescue' || plan.raw.bad.length === 0) return good;
  const corrupt = plan.raw.bad.map((b, i) => {
    const doc = JSON.stringify({ _corrupt_record: b.text, _error: `${b.kind}: ${b.error}`, ...(b.line !== undefined ? { _line: b.line } : {}) });
    return `(${sqlString(doc)}, ${plan.raw.records + i + 1})`;
  });
  const nulls = values.map((v) => `CAST(NULL AS ${columns.find((c) => c.name === v.name)!.type}) AS ${sqlIdent(v.name)}`);
  const bad = `SELECT ${[...nulls, `__doc AS ${RESCUED}`, ...lineageCols('__n'), ...(flag ? [`CAST(NULL AS VARCHAR) AS ${BAD_FLAG}`] : [])].join(', ')} FROM (VALUES ${corrupt.join(', ')}) AS __bad(__doc, __n)`;
  return `${good} UNION ALL ${bad}`;
}

const NESTED = /^(STRUCT|MAP|UNION)|\[\]$/;
const BAD_FLAG = '__lakelet_error';

/**
 * A value of the file's type in the column's established type, never silently changed: a cast that
 * loses information (1.5 → BIGINT 2, 'x' → NULL, '2024-01-05 10:00' → DATE) gives NULL here, and
 * the caller's check makes that an error, a bad record or a rescued value.
 */
function convert(expr: string, from: string, to: string): string {
  // An object or array into a text column is its JSON text ({"a":1}), as Spark and BigQuery store
  // a JSON value loaded into a STRING column; a plain cast would write DuckDB's {'a': 1}.
  if (to === 'VARCHAR' && NESTED.test(from)) return `CAST(to_json(${expr}) AS VARCHAR)`;
  if (to === 'VARCHAR' && from === 'JSON') return jsonAsText(expr);
  const cast = `TRY_CAST(${expr} AS ${to})`;
  if (NESTED.test(from) || NESTED.test(to)) return cast;
  return `CASE WHEN ${lossless(expr, from, to, cast)} THEN ${cast} END`;
}

/** A JSON value as text: a string is its characters (not quoted), anything else its JSON text. */
export function jsonAsText(expr: string): string {
  return `CASE WHEN json_type(${expr}) = 'VARCHAR' THEN (${expr}) ->> '$' ELSE CAST(${expr} AS VARCHAR) END`;
}

const EXACT_NUMBER = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|DECIMAL\(\d+,\s*\d+\))$/;
const FLOATING = /^(FLOAT|DOUBLE|REAL)$/;
const WALL_CLOCK = /^TIMESTAMP(_S|_MS|_NS)?$/;

/**
 * SQL true when `cast` (expr in type `to`) holds the same value as expr. Values are compared, not
 * spellings: text '44.60' into DOUBLE is lossless, though 44.6 prints without the zero. Text is
 * compared in a domain that holds both sides exactly: numbers as DECIMAL(38,18) (else DOUBLE),
 * dates and timestamps as instants (an offset dropped or a time cut off is a loss) and to the
 * nanosecond; a boolean or a float only has to parse. Other sources round-trip through `to`.
 */
function lossless(expr: string, from: string, to: string, cast: string): string {
  if (from === 'VARCHAR') {
    if (EXACT_NUMBER.test(to)) {
      return `coalesce(TRY_CAST(${expr} AS DECIMAL(38,18)) = TRY_CAST(${cast} AS DECIMAL(38,18)), TRY_CAST(${expr} AS DOUBLE) = TRY_CAST(${cast} AS DOUBLE))`;
    }
    // An integer of 16 digits or more must be the same integer as a double: a float parses it,
    // but 123456789012345678901234567890 would be stored with 17 of its digits.
    if (FLOATING.test(to)) return `(${cast} IS NOT NULL AND (NOT regexp_full_match(trim(${expr}), '[+-]?[0-9]{16,}') OR coalesce(TRY_CAST(trim(${expr}) AS DECIMAL(38,0)) = TRY_CAST(${cast} AS DECIMAL(38,0)), false)))`;
    if (to === 'BOOLEAN' || to === 'TIMESTAMP WITH TIME ZONE') return `${cast} IS NOT NULL`;
    if (to === 'DATE') return `TRY_CAST(${expr} AS TIMESTAMPTZ) = TRY_CAST(${cast} AS TIMESTAMPTZ)`;
    if (WALL_CLOCK.test(to)) {
      return `(TRY_CAST(${expr} AS TIMESTAMPTZ) = TRY_CAST(${cast} AS TIMESTAMPTZ) AND coalesce(TRY_CAST(${expr} AS TIMESTAMP_NS) = TRY_CAST(${cast} AS TIMESTAMP_NS), true))`;
    }
  }
  return `TRY_CAST(${cast} AS ${from}) IS NOT DISTINCT FROM ${expr}`;
}

/**
 * The records of a file with a value that does not fit (when such records are bad records):
 * their number in the file's rows (REC), why, and their values as read, in file order. `limit`
 * bounds the rows returned; `count` is all of them.
 */
export async function badValueRows(
  compute: Compute,
  pipeline: PipelineConfig,
  plan: FilePlan,
  columns: Column[],
  limit: number,
): Promise<{ count: number; rows: { rec: number; error: string; text: string }[] }> {
  const rowError = rowErrorSql(columnValues(plan, columns).checks);
  if (!badPolicy(pipeline).valueIsBad || !rowError || !plan.raw.sql) return { count: 0, rows: [] };
  const record = `CAST(to_json(struct_pack(${plan.raw.columns.map((c) => `${sqlIdent(c.name)} := ${sqlIdent(c.name)}`).join(', ')})) AS VARCHAR)`;
  const rows = await compute.query<{ rec: string | number; error: string; text: string; n: string | number }>(
    `SELECT ${REC} AS rec, __lakelet_error AS error, ${record} AS text, count(*) OVER () AS n FROM (SELECT *, ${rowError} AS __lakelet_error FROM (${plan.raw.sql})) WHERE __lakelet_error IS NOT NULL ORDER BY ${REC} LIMIT ${Math.max(1, limit)}`,
  );
  return { count: rows.length ? Number(rows[0].n) : 0, rows: rows.map((r) => ({ rec: Number(r.rec), error: r.error, text: r.text })) };
}

/**
 * Runs the file's SELECT once so a failing CAST rejects the file before the batch commits; with
 * `flagBad` (fileSelect's option), also counts the records with a value that does not fit.
 */
export async function checkFileSelect(compute: Compute, sql: string): Promise<{ rows: number; rescued: number; bad: number }> {
  try {
    return (await checkFileSelects(compute, [sql]))[0];
  } catch (err) {
    const e = duckdbReadError('cast', err);
    throw new FileRejectedError(
      'cast',
      `${e.detail} (a value does not fit the column type the stage table has)`,
      e.position,
      'use badRecords: quarantine-file to load the other records, or badRecords/schemaDrift: rescue to keep such values in _rescued_data',
    );
  }
}

/**
 * The checks of several files' SELECTs (as checkFileSelect) in one statement: a batch of small
 * files pays one round trip instead of one per file. Throws DuckDB's error as it is when any of
 * them fails; the caller then checks them one by one to find which.
 */
export async function checkFileSelects(compute: Compute, sqls: string[]): Promise<{ rows: number; rescued: number; bad: number }[]> {
  const rows = await checkSelects(compute, sqls.map((sql) => ({ sql, byFile: false })));
  const out = new Array<{ rows: number; rescued: number; bad: number }>(sqls.length);
  for (const r of rows) out[r.i] = r;
  return out;
}

/**
 * The checks of SELECTs in one statement, as checkFileSelects; a `byFile` SELECT holds the rows of
 * several files (group-select.ts) and is counted per `_source_file` (`file` in the answer).
 */
export async function checkSelects(compute: Compute, parts: { sql: string; byFile: boolean }[]): Promise<{ i: number; file?: string; rows: number; rescued: number; bad: number }[]> {
  // Every column's value is used (the row hashed), so no cast is optimized away; a hash is several
  // times cheaper than the row cast to text.
  const sql = parts.map(({ sql, byFile }, i) => {
    const hasRescue = sql.includes(` AS ${RESCUED},`);
    const hasFlag = sql.includes(` AS ${BAD_FLAG} FROM`);
    const file = byFile ? '__t._source_file' : 'CAST(NULL AS VARCHAR)';
    return `SELECT ${i} AS i, ${file} AS f, count(*) AS n, ${hasRescue ? `count(__t.${RESCUED})` : '0'} AS r, ${hasFlag ? `count(__t.${BAD_FLAG})` : '0'} AS b, max(hash(__t)) AS h FROM (${sql}) __t${byFile ? ' GROUP BY __t._source_file' : ''}`;
  });
  const rows = await compute.query<{ i: number; f: string | null; n: string | number; r: string | number; b: string | number }>(sql.join(' UNION ALL '));
  return rows.map((r) => ({ i: Number(r.i), ...(r.f !== null ? { file: r.f } : {}), rows: Number(r.n), rescued: Number(r.r), bad: Number(r.b) }));
}
