/**
 * The MERGE join, inside DuckDB: the candidate target rows joined once with the source, each row's
 * clause decided there (a code per row, see clauses.ts) next to the values it takes, kept as a temp
 * table that the ambiguity check, the counts, the file selection and the writes all read.
 */
import type { AddFile } from '../../delta/actions.ts';
import type { StructField, StructType } from '../../delta/schema.ts';
import type { TableContext } from '../../delta/table-context.ts';
import type { Compute } from '../../../adapters/compute/compute.ts';
import { sqlIdent } from '../../../adapters/compute/sql.ts';
import { deltaTypeToDuckDb } from '../../delta/duckdb-types.ts';
import { LakeletError } from '../../errors.ts';
import {
  CODE_BY_SOURCE_NONE,
  CODE_MATCHED_NONE,
  CODE_NOT_MATCHED_NONE,
  decisionSql,
  isDelete,
  isUpdate,
  type ClauseKind,
  type CodedClause,
} from './clauses.ts';
import { SOURCE_ROW, type MergePlan, type MergeSource } from './plan.ts';
import { CODE_MISALIGNED, type PairingPart } from './aligned.ts';
import { inputErrorFrom } from '../../../errors/lakelet-error.ts';

/** A target row matched by more than one source row: the merge would be ambiguous. */
export class MergeDuplicateKeyError extends LakeletError {
  constructor(tablePath: string, readonly key: Record<string, unknown>, readonly matches: number) {
    super(
      'MERGE_DUPLICATE_SOURCE',
      `${tablePath}: MERGE cannot apply: the target row with key ${JSON.stringify(key)} is matched by ${matches} source rows. ` +
        'Deduplicate the source by key (dedupBy(<ordering column>) / --dedup-by) to keep the latest row, or fix the batch.',
    );
  }
}

export interface Aliases {
  t: string;
  s: string;
}

/** The join condition: `t.k = s.k AND …`, plus the extra condition when given. */
export function joinCondition(keys: string[], { t, s }: Aliases, condition?: string): string {
  return [...keys.map((k) => `${t}.${sqlIdent(k)} = ${s}.${sqlIdent(k)}`), ...(condition ? [`(${condition})`] : [])].join(' AND ');
}

export interface JoinInput {
  /** SQL of the candidate target files (a scan with `_file` and `_row_index`). */
  targetSql: string;
  /** The target's columns before this merge (a column added by schema evolution has no value yet). */
  targetSchema: StructType;
  /** The columns the merge writes. */
  schema: StructType;
  source: MergeSource;
  plan: MergePlan;
  aliases: Aliases;
  on: string;
  /** Keep each target row's pre-image beside its new values (for the change data feed). */
  preimages: boolean;
  /** The temp table to create. */
  joined: string;
  /** The key columns (kept beside the source row id, for the ambiguity error). */
  keys: string[];
  /**
   * Keep only rows a clause acts on (updated, deleted, inserted): the rows no clause touches are
   * needed only by the exact ambiguity check. Rewritten files' other rows are re-read at write.
   */
  actedOnly: boolean;
  /**
   * No target file can match (e.g. an insert-only batch): the join is just the source, so it stays
   * a view, re-read by each step, instead of copying every source row into a temp table first.
   */
  asView: boolean;
  /**
   * Keep only the decision (file, row, clause code), no output columns: the merge is a plain
   * upsert (see isPlainUpsert), so the written rows are exactly the source's and are read from it.
   */
  narrow: boolean;
  /**
   * Keep the decision and the source row's id (`__srow`, see lateSourceRows) instead of its
   * values; the keys are kept too, for the ambiguity error.
   */
  late: boolean;
  /**
   * Pair the target rows with the source rows by position instead of joining by key (see
   * aligned.ts); a pair failing the join condition gets CODE_MISALIGNED and is kept.
   */
  positional?: boolean;
  /** Paired by position: the parts to pair side by side (see pairingParts); one pairing when absent. */
  parts?: PairingPart[];
}

/**
 * A plain upsert: WHEN MATCHED UPDATE SET * and WHEN NOT MATCHED INSERT *, both unconditional,
 * nothing else, and the source has every column the merge writes. Then every source row is
 * written exactly once (updated or inserted; the join is checked unambiguous) with its own values,
 * so the rows to write are the source itself, and the join only decides which target rows go.
 */
export function isPlainUpsert(plan: MergePlan, schema: StructType, source: MergeSource): boolean {
  const plain = (kind: ClauseKind) => plan.clauses.some((c) => c.kind === kind && !c.condition && !c.set);
  if (plan.clauses.length !== 2 || !plain('matched-update') || !plain('not-matched-insert')) return false;
  const sourceNames = new Set(source.schema.fields.map((f) => f.name.toLowerCase()));
  return schema.fields.every((f) => sourceNames.has(f.name.toLowerCase()));
}

/**
 * Every clause deletes, or is an UPDATE SET * / INSERT * of WHEN [NOT] MATCHED (conditions
 * allowed), and the source has every column the merge writes: the rows a clause writes are source
 * rows as they are. (The other rows' outputs are never written: deleted and untouched rows are
 * only located by file and row.)
 */
export function takesSourceRows(plan: MergePlan, schema: StructType, source: MergeSource): boolean {
  const ok = plan.clauses.every((c) => isDelete(c) || ((c.kind === 'matched-update' || c.kind === 'not-matched-insert') && !c.set));
  if (!ok) return false;
  const sourceNames = new Set(source.schema.fields.map((f) => f.name.toLowerCase()));
  return schema.fields.every((f) => sourceNames.has(f.name.toLowerCase()));
}

/**
 * Star clauses (takesSourceRows) and a source with stable row ids, without change data (which
 * needs the written values beside the pre-images in the join): the join keeps just each source
 * row's id, so it reads only the key and condition columns of both sides, and the write fetches
 * the values of the rows it writes. A merge that changes few rows (or none) never reads the rest.
 */
export function lateSourceRows(plan: MergePlan, schema: StructType, source: MergeSource, preimages: boolean): boolean {
  return !preimages && source.rowId !== undefined && takesSourceRows(plan, schema, source);
}

/**
 * Creates the joined table: per row the target file (its index in the scan's files) and row (NULL when not matched), the clause
 * code, the output columns by name and, with preimages, the target values as `__pre_<i>`.
 */
export async function joinRows(ctx: TableContext, input: JoinInput): Promise<number | undefined> {
  const { plan, aliases, schema } = input;
  const { t, s } = aliases;
  const decision =
    `CASE WHEN ${t}._file IS NOT NULL AND ${s}.${SOURCE_ROW} IS NOT NULL THEN ${decisionSql(plan.matched, CODE_MATCHED_NONE)} ` +
    `WHEN ${t}._file IS NULL THEN ${decisionSql(plan.inserts, CODE_NOT_MATCHED_NONE)} ` +
    `ELSE ${decisionSql(plan.bySource, CODE_BY_SOURCE_NONE)} END`;
  const sourceNames = new Set(input.source.schema.fields.map((f) => f.name.toLowerCase()));
  const existing = new Set(input.targetSchema.fields.map((f) => f.name.toLowerCase()));
  // Star clauses only: an updated or inserted row takes the source row's values, so the outputs
  // are the source columns (as the table types them), and the target's other columns are never read.
  const star = takesSourceRows(plan, schema, input.source);
  // (Only the rows written are cast: a deleted row's source values need not fit the table.)
  const written = plan.clauses.filter((c) => !isDelete(c)).map((c) => c.code).join(', ') || 'NULL';
  // A row no clause writes keeps the target's key (read anyway), which the ambiguity error names.
  const isKey = (name: string) => input.keys.some((k) => k.toLowerCase() === name.toLowerCase());
  const starExpr = (f: StructField) =>
    `CASE WHEN __code IN (${written}) THEN CAST(${s}.${sqlIdent(f.name)} AS ${deltaTypeToDuckDb(f.type)}) ${isKey(f.name) && existing.has(f.name.toLowerCase()) ? `ELSE ${t}.${sqlIdent(f.name)} ` : ''}END`;
  const outputs = input.narrow
    ? []
    : input.late
      ? [`${s}.${input.source.rowId} AS __srow`, ...input.keys.map((k) => `${t}.${sqlIdent(k)} AS ${sqlIdent(k)}`)]
      : schema.fields.map((f) => `${star ? starExpr(f) : outputExpr(f, plan.clauses, sourceNames, existing, aliases)} AS ${sqlIdent(f.name)}`);
  const preimage = (f: StructField, i: number) => `${existing.has(f.name.toLowerCase()) ? `${t}.${sqlIdent(f.name)}` : 'NULL'} AS __pre_${i}`;
  if (input.preimages) outputs.push(...schema.fields.map(preimage));
  // Source rows without a target row matter only to inserts, target rows without a source row
  // only to NOT MATCHED BY SOURCE clauses: an outer side only where a clause needs it.
  const keepTarget = plan.bySource.length > 0;
  const keepSource = plan.inserts.length > 0;
  const joinKind = keepTarget && keepSource ? 'FULL OUTER' : keepTarget ? 'LEFT OUTER' : keepSource ? 'RIGHT OUTER' : 'INNER';
  const from = input.positional
    ? `FROM (${input.targetSql}) ${t} POSITIONAL JOIN ${input.source.table} ${s}`
    : `FROM (${input.targetSql}) ${t} ${joinKind} JOIN ${input.source.table} ${s} ON ${input.on}`;
  // Paired by position, every row is a match unless its pair fails the join condition (a NULL
  // side included): only the matched clauses decide.
  const code = input.positional ? `CASE WHEN NOT coalesce((${input.on}), false) THEN ${CODE_MISALIGNED} ELSE ${decisionSql(plan.matched, CODE_MATCHED_NONE)} END` : decision;
  // The rows a clause acts on, as one test of `__code`: DuckDB substitutes the decision for each
  // reference, and turns `IN (a, b)` into `= a OR = b`, evaluating the decision once per code.
  // Clause codes are 1-99, 101-199 and 201-299; the "no clause" codes 0, -1 and 200 (and, paired by
  // position, the failed pairs' CODE_MISALIGNED, kept) are the only others.
  const acted = input.positional ? `__code <> ${CODE_MATCHED_NONE}` : `__code % 100 > 0`;
  try {
    // One level: the outputs refer to `__code` by its alias (DuckDB reuses select-list aliases),
    // which spares packing both sides' rows into structs for an outer query.
    // A table's CREATE reports its row count (a view's reports nothing): with actedOnly, zero rows
    // means no clause acts on any row, known without a query over the table.
    const select = `SELECT ${[`${t}._file::INTEGER AS __file`, `${t}._row_index AS __row`, `${code} AS __code`, ...outputs].join(', ')} `;
    const where = input.actedOnly ? ` WHERE ${acted}` : '';
    const body = input.positional && input.parts && input.parts.length > 1 ? pairedInParts(input, input.parts, select, where) : select + from + where;
    const created = await ctx.compute.query<{ Count?: string | number }>(`CREATE TEMP ${input.asView ? 'VIEW' : 'TABLE'} ${input.joined} AS ${body}`);
    const count = created[0]?.Count;
    return input.asView || count === undefined ? undefined : Number(count);
  } catch (err) {
    throw inputErrorFrom(err, (detail) => `${ctx.uri}: MERGE failed to evaluate: ${detail}. Check the clause conditions and SET expressions.`);
  }
}

/**
 * A pairing by position in parts (see pairingParts), as one UNION ALL, ordered: a CREATE TABLE AS
 * keeps its rows' order, and to keep it DuckDB ran the parts one after another (no faster than one
 * pairing); under an ORDER BY they run side by side (a million pairs: 28–30 ms against 45–52 with
 * no row acted on, 78–87 against 96–104 with every row kept and sorted).
 */
function pairedInParts(input: JoinInput, parts: PairingPart[], select: string, where: string): string {
  const { t, s } = input.aliases;
  const key = sqlIdent(input.keys[0]);
  const part = (p: PairingPart) =>
    `(${select}FROM (SELECT * FROM (${input.targetSql}) WHERE _file BETWEEN ${p.fromFile} AND ${p.toFile}) ${t} ` +
    `POSITIONAL JOIN (SELECT * FROM ${input.source.table} WHERE ${key} BETWEEN ${p.lo} AND ${p.hi}) ${s}${where})`;
  return `SELECT * FROM (${parts.map(part).join(' UNION ALL ')}) ORDER BY __file, __row`;
}

/** The value a target column takes for each clause; unchanged (target value) otherwise. */
function outputExpr(field: StructField, clauses: CodedClause[], sourceNames: Set<string>, targetNames: Set<string>, { t, s }: Aliases): string {
  const col = sqlIdent(field.name);
  // A column just added by schema evolution has no target value yet.
  const current = targetNames.has(field.name.toLowerCase()) ? `${t}.${col}` : 'NULL';
  const fromSource = sourceNames.has(field.name.toLowerCase()) ? `${s}.${col}` : undefined;
  const whens: string[] = [];
  for (const c of clauses) {
    if (isDelete(c)) continue;
    const explicit = c.set ? Object.entries(c.set).find(([k]) => k.toLowerCase() === field.name.toLowerCase())?.[1] : undefined;
    let value: string | undefined;
    if (c.kind === 'not-matched-insert') value = explicit ?? (c.set ? 'NULL' : fromSource ?? 'NULL');
    else value = explicit ?? (c.set ? undefined : fromSource);
    if (value !== undefined) whens.push(`WHEN __code = ${c.code} THEN ${value}`);
  }
  return whens.length ? `CASE ${whens.join(' ')} ELSE ${current} END` : current;
}

/**
 * Whether the source may repeat a key, so that one target row could match several source rows
 * (Delta refuses such a merge). The join is on key equality: a source with unique keys (the usual
 * batch, and any deduplicated one) cannot be ambiguous, and one cheap grouping of the source alone
 * shows it. Only otherwise are the joined rows checked (assertUnambiguous), since a repeated key
 * that matches no target row is fine.
 */
export async function sourceKeysMayRepeat(ctx: TableContext, keys: string[], plan: MergePlan, source: MergeSource, target: StructType): Promise<boolean> {
  if (plan.matched.length === 0 || source.uniqueKeys) return false;
  // Keys as the target types them: a cast can only merge source values, never split them, so a
  // source that is unique this way cannot match one target row twice.
  const typed = keys.map((k) => {
    const field = target.fields.find((f) => f.name.toLowerCase() === k.toLowerCase());
    return field ? `TRY_CAST(${sqlIdent(k)} AS ${deltaTypeToDuckDb(field.type)})` : sqlIdent(k);
  });
  // A key outside the range every candidate's keys lie in (e.g. a new key above them all) matches
  // no target row, so its repeats cannot be ambiguous: only keys inside are checked (constants
  // DuckDB pushes into the source scan).
  const inRange = keys.flatMap((k, i) => {
    const range = plan.keyRanges[k.toLowerCase()];
    return range && target.fields.some((f) => f.name.toLowerCase() === k.toLowerCase()) ? [`__k${i} BETWEEN ${range.lo} AND ${range.hi}`] : [];
  });
  const where = (nonNull: string) => [nonNull, ...inRange].join(' AND ');
  // The pruning pass may have read the keys' order already (MergePlan.keyOrder).
  if (typed.length === 1 && plan.keyOrder?.increasing === true) return false;
  if (typed.length === 1 && plan.keyOrder === undefined) {
    // A key column that strictly increases from row to row (the usual batch, sorted by key) holds
    // no value twice, whatever order DuckDB reads the rows in: one pass with lag() shows it,
    // several times cheaper than grouping every key. Anything else gets the exact grouping.
    const order = await ctx.compute.query<{ unsorted: boolean }>(
      `SELECT coalesce(bool_or(__k0 <= __prev), false) AS unsorted FROM (SELECT __k0, lag(__k0) OVER () AS __prev FROM (SELECT ${typed[0]} AS __k0 FROM ${source.table}) WHERE ${where('__k0 IS NOT NULL')})`,
    );
    if (!order[0].unsorted) return false;
  }
  const repeated = await ctx.compute.query(
    `SELECT 1 FROM (SELECT ${typed.map((e, i) => `${e} AS __k${i}`).join(', ')} FROM ${source.table}) ` +
      `WHERE ${where(typed.map((_, i) => `__k${i} IS NOT NULL`).join(' AND '))} GROUP BY ${typed.map((_, i) => `__k${i}`).join(', ')} HAVING count(*) > 1 LIMIT 1`,
  );
  return repeated.length > 0;
}

/** Ambiguity, exactly: a target row matched by several source rows (needs every joined row kept). */
export async function assertUnambiguous(ctx: TableContext, joined: string, keys: string[]): Promise<void> {
  const dup = await ctx.compute.query<Record<string, unknown> & { __n: string }>(
    `SELECT count(*) AS __n, ${keys.map((k) => `any_value(${sqlIdent(k)}) AS ${sqlIdent(k)}`).join(', ')} FROM ${joined} ` +
      `WHERE __file IS NOT NULL AND __code BETWEEN 0 AND 99 GROUP BY __file, __row HAVING count(*) > 1 LIMIT 1`,
  );
  if (dup.length === 0) return;
  const key: Record<string, unknown> = {};
  for (const k of keys) key[k] = dup[0][k];
  throw new MergeDuplicateKeyError(ctx.uri, key, Number(dup[0].__n));
}

/** What the join decided: rows per clause kind, and the target files holding a changed row. */
export interface RowDecisions {
  rowsOf(kind: ClauseKind): number;
  /** The target files holding a changed (updated or deleted) row, with how many rows changed. */
  touched: Map<string, number>;
  /** Positional pairs that failed the join condition (aligned.ts): the join must be redone by key. */
  misaligned: number;
}

/** What the join decided when it kept only acted-on rows and kept none: no clause acts on any row. */
export function noRowsActedOn(): RowDecisions {
  return { rowsOf: () => 0, touched: new Map(), misaligned: 0 };
}

/** `files`: the scanned target files, which the joined rows' `__file` indexes. */
export async function decideRows(compute: Compute, joined: string, clauses: CodedClause[], files: AddFile[]): Promise<RowDecisions> {
  // One grouping gives both the counts per clause and the files holding a changed row.
  const perCodeFile = await compute.query<{ code: number; f: number | null; n: string }>(`SELECT __code AS code, __file AS f, count(*) AS n FROM ${joined} GROUP BY __code, __file`);
  const rowsOf = (kind: ClauseKind) =>
    perCodeFile.filter((r) => clauses.some((c) => c.code === Number(r.code) && c.kind === kind)).reduce((a, r) => a + Number(r.n), 0);
  const changeCodes = new Set(clauses.filter((c) => isUpdate(c) || isDelete(c)).map((c) => c.code));
  const touched = new Map<string, number>();
  for (const r of perCodeFile) {
    if (r.f === null || !changeCodes.has(Number(r.code))) continue;
    const path = files[Number(r.f)].path;
    touched.set(path, (touched.get(path) ?? 0) + Number(r.n));
  }
  const misaligned = perCodeFile.filter((r) => Number(r.code) === CODE_MISALIGNED).reduce((a, r) => a + Number(r.n), 0);
  return { rowsOf, touched, misaligned };
}

/**
 * What the join decides when no target file is read (every row is pruned away, or the table has
 * none) and the first WHEN NOT MATCHED clause has no condition: every source row is unmatched and
 * inserted by it, no target row changes. Known without reading the rows; undefined otherwise
 * (a conditional insert must be evaluated row by row).
 */
export function decisionsWithoutTarget(plan: MergePlan, sourceRows: number, scanned: AddFile[]): RowDecisions | undefined {
  if (scanned.length > 0) return undefined;
  if (plan.inserts.length > 0 && plan.inserts[0].condition) return undefined;
  const inserted = plan.inserts.length > 0 ? sourceRows : 0;
  return { rowsOf: (kind) => (kind === 'not-matched-insert' ? inserted : 0), touched: new Map(), misaligned: 0 };
}