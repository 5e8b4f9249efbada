/**
 * Evaluating a predicate against one file, with three-valued logic: for each node we compute
 * whether some row of the file MAY make it TRUE and whether some row MAY make it FALSE (NULL is
 * neither). A file is skipped only when no row may make the whole predicate TRUE: partition
 * columns are compared by typed value, data columns through their stats (facts.ts), and bounds are
 * intervals (bounds.ts), so imprecision always errs towards keeping a file.
 */
import type { DataType, StructType } from '../schema.ts';
import type { PhysicalNameOf } from '../stats.ts';
import type { CompareOp, Literal, Predicate } from './predicate.ts';
import { cmp, literalBound, type AnyBound } from './bounds.ts';
import type { Interval } from './numbers.ts';
import { factsFor, type Context, type Facts, type SkippingFile } from './facts.ts';

/** Possible outcomes over the rows of a file: some row may make it TRUE / FALSE. */
interface Outcome {
  t: boolean;
  f: boolean;
}
const UNKNOWN: Outcome = { t: true, f: true };
const NEITHER: Outcome = { t: false, f: false };

function possible(op: CompareOp, facts: Facts, c: AnyBound): boolean {
  const L = facts.lower && facts.lower.domain === c.domain ? facts.lower.v : undefined;
  const U = facts.upper && facts.upper.domain === c.domain ? facts.upper.v : undefined;
  const cv = c.v as Interval<number | bigint | string>;
  switch (op) {
    case '=':
      return (U === undefined || cmp(U.hi, cv.lo) >= 0) && (L === undefined || cmp(L.lo, cv.hi) <= 0);
    case '<>':
      // Only impossible when every value provably equals the constant.
      return !(
        L !== undefined &&
        U !== undefined &&
        cmp(L.lo, U.hi) === 0 &&
        cmp(cv.lo, cv.hi) === 0 &&
        cmp(L.lo, cv.lo) === 0
      );
    case '<':
      return L === undefined || cmp(L.lo, cv.hi) < 0;
    case '<=':
      return L === undefined || cmp(L.lo, cv.hi) <= 0;
    case '>':
      return U === undefined || cmp(U.hi, cv.lo) > 0;
    case '>=':
      return U === undefined || cmp(U.hi, cv.lo) >= 0;
  }
}

const NEGATED: Record<CompareOp, CompareOp> = { '=': '<>', '<>': '=', '<': '>=', '<=': '>', '>': '<=', '>=': '<' };

/** literalBound per (literal, column type): files share them, so compute each once. */
const boundCache = new WeakMap<Literal, Map<string, ReturnType<typeof literalBound>>>();
function cachedLiteralBound(lit: Literal, t: DataType): ReturnType<typeof literalBound> {
  if (typeof t !== 'string') return undefined;
  let perType = boundCache.get(lit);
  if (!perType) boundCache.set(lit, (perType = new Map()));
  if (!perType.has(t)) perType.set(t, literalBound(lit, t));
  return perType.get(t);
}

function compareOutcome(op: CompareOp, facts: Facts, lit: Literal): Outcome {
  const c = cachedLiteralBound(lit, facts.type);
  if (c === 'null') return NEITHER; // a comparison with NULL is never TRUE nor FALSE
  if (!facts.mayNonNull) return NEITHER; // NULL op anything is NULL
  if (c === undefined) return UNKNOWN;
  return { t: possible(op, facts, c), f: possible(NEGATED[op], facts, c) };
}

function evaluate(p: Predicate, ctx: Context): Outcome {
  switch (p.kind) {
    case 'and': {
      const rs = p.children.map((c) => evaluate(c, ctx));
      return { t: rs.every((r) => r.t), f: rs.some((r) => r.f) };
    }
    case 'or': {
      const rs = p.children.map((c) => evaluate(c, ctx));
      return { t: rs.some((r) => r.t), f: rs.every((r) => r.f) };
    }
    case 'not': {
      const r = evaluate(p.child, ctx);
      return { t: r.f, f: r.t };
    }
    case 'constant':
      return p.value === null ? NEITHER : { t: p.value, f: !p.value };
    case 'isNull': {
      const facts = factsFor(p.column, ctx);
      if (!facts) return UNKNOWN;
      return { t: facts.mayNull, f: facts.mayNonNull };
    }
    case 'compare': {
      const facts = factsFor(p.column, ctx);
      return facts ? compareOutcome(p.op, facts, p.value) : UNKNOWN;
    }
    case 'in': {
      const facts = factsFor(p.column, ctx);
      if (!facts) return UNKNOWN;
      if (!facts.mayNonNull) return NEITHER;
      const eq = p.values.map((v) => compareOutcome('=', facts, v));
      const hasNull = p.values.some((v) => !v.failed && v.text === null);
      // x IN (…) is TRUE if x equals one; FALSE only if it equals none and the list has no NULL.
      return { t: eq.some((r) => r.t), f: !hasNull && eq.every((r) => r.f) };
    }
    default:
      return UNKNOWN;
  }
}

/**
 * True only when the file provably holds no row for which the predicate is TRUE: partition columns
 * are compared by typed value, data columns through min/max/nullCount/numRecords (missing stats
 * never skip). Column names match case-insensitively, as in Delta; nested struct fields (a.b) use
 * the nested stats. `physicalNameOf` maps a logical name to the name used in partitionValues and
 * stats (column mapping); default identity.
 */
export function canSkipFile(
  pred: Predicate,
  file: SkippingFile,
  schema: StructType,
  partitionColumns: readonly string[],
  physicalNameOf: PhysicalNameOf = (name) => name,
): boolean {
  if (file.stats && file.stats.numRecords === 0) return true;
  const ctx: Context = {
    file,
    schema,
    partitions: new Set(partitionColumns.map((c) => c.toLowerCase())),
    physicalNameOf,
  };
  return !evaluate(pred, ctx).t;
}
