/**
 * Data skipping: deciding from `add.partitionValues` and `add.stats` alone that a file holds no row
 * matching a user predicate (`--where "a > 5 AND part = 'x'"`).
 *
 * The predicate is parsed by DuckDB itself: `json_serialize_sql('SELECT * FROM t WHERE ' || p)`
 * returns the parse tree as JSON (no binding, so unknown columns do not fail here). Its shape, as
 * DuckDB 1.5 prints it: `{"error":false,"statements":[{"node":{"type":"SELECT_NODE",
 * "where_clause":<expr>,…}}]}`, each expression an object with `class` and `type`:
 *   CONJUNCTION  CONJUNCTION_AND|CONJUNCTION_OR        children[]
 *   OPERATOR     OPERATOR_NOT|OPERATOR_IS_NULL|OPERATOR_IS_NOT_NULL|COMPARE_IN|COMPARE_NOT_IN
 *                                                      children[] (IN: column first, then the list)
 *   COMPARISON   COMPARE_EQUAL|…NOTEQUAL|…LESSTHAN|…GREATERTHAN|…LESSTHANOREQUALTO|
 *                …GREATERTHANOREQUALTO|COMPARE_DISTINCT_FROM|COMPARE_NOT_DISTINCT_FROM   left, right
 *   BETWEEN      COMPARE_BETWEEN                       input, lower, upper (NOT BETWEEN = NOT(…))
 *   COLUMN_REF   column_names[] (["s","x"] for s.x; unquoted names keep their case)
 *   CONSTANT     VALUE_CONSTANT value {type:{id}, is_null, value}  (TRUE is CAST('t' AS BOOLEAN),
 *                -1.5 is DECIMAL width 2 scale 1 value -15, big integers are bare JSON numbers
 *                beyond 2^53 and HUGEINT is {upper, lower})
 *   CAST         OPERATOR_CAST child, cast_type         (DATE '2020-01-01' is a CAST of a VARCHAR)
 *   FUNCTION     function_name, children               (1+2, -x, INTERVAL arithmetic, random(), …)
 * Because JSON numbers there can exceed 2^53, the tree is parsed losslessly, and constant
 * sub-expressions are evaluated by DuckDB (turned back into SQL with json_deserialize_sql) rather
 * than interpreted here, so every literal has exactly DuckDB's type and value.
 *
 * Skipping is decided with three-valued logic: for each node we compute whether some row of the
 * file MAY make it TRUE and whether some row MAY make it FALSE (NULL is neither). A file is skipped
 * only when no row may make the whole predicate TRUE. Bounds are handled as intervals so that
 * imprecision (JSON numbers beyond 2^53, timestamp stats truncated to milliseconds, FLOAT columns
 * compared in single precision) always errs towards keeping a file.
 */
import { sqlString, type Compute } from '../../adapters/compute/duckdb.ts';
import { InputError } from '../errors.ts';
import type { FileStats } from './actions.ts';
import { parseDecimalType } from './duckdb-types.ts';
import { MICROS_PER_DAY, parseDateToDays, parseTimestamp } from './partition-values.ts';
import type { DataType, StructField, StructType } from './schema.ts';
import { isStruct } from './schema.ts';
import type { PhysicalNameOf } from './stats.ts';

// ---------------------------------------------------------------------------------------------
// Predicate tree
// ---------------------------------------------------------------------------------------------

export type CompareOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

/** A constant of the predicate, evaluated by DuckDB. */
export interface Literal {
  /** DuckDB type as typeof() prints it ('INTEGER', 'DECIMAL(2,1)', 'TIMESTAMP WITH TIME ZONE', …); 'NULL' for NULL. */
  duckType: string;
  /** CAST(value AS VARCHAR); null for NULL. */
  text: string | null;
  /** For VARCHAR constants, DuckDB's own casts (a string compared with a typed column is cast to its type). */
  casts?: {
    date: string | null;
    timestamptz: string | null;
    timestamp: string | null;
    boolean: boolean | null;
    double: string | null;
  };
  /** Set when DuckDB could not evaluate the constant: comparisons with it are unknown. */
  failed?: boolean;
}

export type Predicate =
  | { kind: 'and'; children: Predicate[] }
  | { kind: 'or'; children: Predicate[] }
  | { kind: 'not'; child: Predicate }
  /** column op value (a constant on the left is flipped to the right). */
  | { kind: 'compare'; op: CompareOp; column: string[]; value: Literal }
  /** column IN (values); NOT IN is not(in). */
  | { kind: 'in'; column: string[]; values: Literal[] }
  /** column IS NULL; IS NOT NULL is not(isNull). */
  | { kind: 'isNull'; column: string[] }
  /** A predicate without columns, evaluated once (TRUE, 1 = 0, NULL, …). */
  | { kind: 'constant'; value: boolean | null }
  /** Anything else: functions of columns, column-to-column comparisons, subqueries, LIKE, … */
  | { kind: 'unknown'; reason: string };

// ---------------------------------------------------------------------------------------------
// Lossless JSON (numbers kept as their source text)
// ---------------------------------------------------------------------------------------------

class RawNumber {
  constructor(readonly text: string) {}
}
type Json = null | boolean | string | RawNumber | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function parseJsonLossless(text: string): Json {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const fail = (): never => {
    throw new Error(`malformed JSON at offset ${i}`);
  };
  const value = (): Json => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      const obj: JsonObject = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        const key = str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        obj[key] = value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail();
      }
    }
    if (ch === '[') {
      i++;
      const arr: Json[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail();
      }
    }
    if (ch === '"') return str();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += m![0].length;
    return new RawNumber(m![0]);
  };
  const str = (): string => {
    // Find the closing quote (skipping escapes) and let JSON.parse decode the escapes.
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail();
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const v = value();
  ws();
  if (i !== text.length) fail();
  return v;
}

function stringifyJson(v: Json): string {
  if (v instanceof RawNumber) return v.text;
  if (Array.isArray(v)) return `[${v.map(stringifyJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${stringifyJson(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function isObj(v: Json | undefined): v is JsonObject {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) && !(v instanceof RawNumber);
}
function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function arr(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}

// ---------------------------------------------------------------------------------------------
// Compiling: SQL text → Predicate
// ---------------------------------------------------------------------------------------------

/** Deterministic functions that may appear inside constant sub-expressions. */
const CONSTANT_FUNCTIONS = new Set([
  '+', '-', '*', '/', '//', '%', '||',
  'to_years', 'to_months', 'to_weeks', 'to_days', 'to_hours', 'to_minutes', 'to_seconds',
  'to_milliseconds', 'to_microseconds', 'trunc', 'round', 'floor', 'ceil', 'abs',
  'make_date', 'make_time', 'make_timestamp', 'make_timestamptz', 'date_trunc', 'date_add',
  'lower', 'upper', 'concat', 'list_value', 'timezone',
]);

/** Expression classes allowed in a constant sub-expression (anything without a column). */
const CONSTANT_CLASSES = new Set(['CONSTANT', 'CAST', 'FUNCTION', 'COMPARISON', 'CONJUNCTION', 'OPERATOR', 'BETWEEN', 'CASE']);

function isConstantExpr(node: Json | undefined): boolean {
  if (!isObj(node)) return false;
  const cls = str(node.class);
  if (!cls || !CONSTANT_CLASSES.has(cls)) return false;
  if (cls === 'FUNCTION') {
    const name = str(node.function_name)?.toLowerCase();
    if (!name || !CONSTANT_FUNCTIONS.has(name)) return false;
    if (node.filter !== null && node.filter !== undefined) return false;
  }
  const children: Json[] = [];
  for (const key of ['children', 'child', 'left', 'right', 'input', 'lower', 'upper', 'else_expr']) {
    const c = node[key];
    if (Array.isArray(c)) children.push(...c);
    else if (c !== null && c !== undefined) children.push(c);
  }
  for (const check of arr(node.case_checks)) {
    if (isObj(check)) children.push(check.when_expr ?? null, check.then_expr ?? null);
  }
  return children.every((c) => isConstantExpr(c));
}

function columnOf(node: Json | undefined): string[] | undefined {
  if (!isObj(node) || str(node.class) !== 'COLUMN_REF') return undefined;
  const names = arr(node.column_names).map((n) => str(n));
  return names.length > 0 && names.every((n) => n !== undefined) ? (names as string[]) : undefined;
}

const COMPARISONS: Record<string, CompareOp> = {
  COMPARE_EQUAL: '=',
  COMPARE_NOTEQUAL: '<>',
  COMPARE_LESSTHAN: '<',
  COMPARE_LESSTHANOREQUALTO: '<=',
  COMPARE_GREATERTHAN: '>',
  COMPARE_GREATERTHANOREQUALTO: '>=',
};
const FLIPPED: Record<CompareOp, CompareOp> = { '=': '=', '<>': '<>', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

interface PendingConstant {
  node: Json;
  literal: Literal;
}
interface PendingBoolean {
  node: Json;
  predicate: { kind: 'constant'; value: boolean | null };
}

class Compiler {
  readonly constants: PendingConstant[] = [];
  readonly booleans: PendingBoolean[] = [];

  literal(node: Json): Literal {
    const literal: Literal = { duckType: 'NULL', text: null };
    this.constants.push({ node, literal });
    return literal;
  }

  unknown(node: JsonObject, reason?: string): Predicate {
    return { kind: 'unknown', reason: reason ?? `${str(node.class) ?? '?'} ${str(node.type) ?? ''}`.trim() };
  }

  build(node: Json): Predicate {
    if (!isObj(node)) return { kind: 'unknown', reason: 'not an expression' };
    const cls = str(node.class);
    const type = str(node.type) ?? '';
    const column = columnOf(node);
    if (column) {
      // A bare (boolean) column: `WHERE flag` means flag = TRUE.
      return { kind: 'compare', op: '=', column, value: { duckType: 'BOOLEAN', text: 'true' } };
    }
    if (isConstantExpr(node)) {
      const predicate: { kind: 'constant'; value: boolean | null } = { kind: 'constant', value: null };
      this.booleans.push({ node, predicate });
      return predicate;
    }
    switch (cls) {
      case 'CONJUNCTION': {
        const children = arr(node.children).map((c) => this.build(c));
        if (type === 'CONJUNCTION_AND') return { kind: 'and', children };
        if (type === 'CONJUNCTION_OR') return { kind: 'or', children };
        return this.unknown(node);
      }
      case 'OPERATOR': {
        const children = arr(node.children);
        if (type === 'OPERATOR_NOT' && children.length === 1) return { kind: 'not', child: this.build(children[0]!) };
        if ((type === 'OPERATOR_IS_NULL' || type === 'OPERATOR_IS_NOT_NULL') && children.length === 1) {
          const col = columnOf(children[0]);
          if (!col) return this.unknown(node, 'IS NULL of an expression');
          const p: Predicate = { kind: 'isNull', column: col };
          return type === 'OPERATOR_IS_NULL' ? p : { kind: 'not', child: p };
        }
        if (type === 'COMPARE_IN' || type === 'COMPARE_NOT_IN') {
          const col = columnOf(children[0]);
          const list = children.slice(1);
          if (!col || list.length === 0 || !list.every((c) => isConstantExpr(c))) {
            return this.unknown(node, 'IN over something other than a column and constants');
          }
          const p: Predicate = { kind: 'in', column: col, values: list.map((c) => this.literal(c)) };
          return type === 'COMPARE_IN' ? p : { kind: 'not', child: p };
        }
        return this.unknown(node);
      }
      case 'COMPARISON': {
        const op = COMPARISONS[type];
        if (!op) return this.unknown(node);
        const leftCol = columnOf(node.left);
        const rightCol = columnOf(node.right);
        if (leftCol && isConstantExpr(node.right)) return { kind: 'compare', op, column: leftCol, value: this.literal(node.right!) };
        if (rightCol && isConstantExpr(node.left)) {
          return { kind: 'compare', op: FLIPPED[op], column: rightCol, value: this.literal(node.left!) };
        }
        return this.unknown(node, 'comparison that is not column-versus-constant');
      }
      case 'BETWEEN': {
        const col = columnOf(node.input);
        if (!col || !isConstantExpr(node.lower) || !isConstantExpr(node.upper)) return this.unknown(node);
        return {
          kind: 'and',
          children: [
            { kind: 'compare', op: '>=', column: col, value: this.literal(node.lower!) },
            { kind: 'compare', op: '<=', column: col, value: this.literal(node.upper!) },
          ],
        };
      }
      default:
        return this.unknown(node);
    }
  }
}

interface Evaluated {
  duckType: string;
  text: string | null;
  /** TRY_CAST(value AS BOOLEAN), for constants in predicate position. */
  bool: boolean | null;
}

/** Evaluates constant expression nodes with DuckDB in one query: typeof, text and truth value. */
async function evaluateConstants(compute: Compute, template: JsonObject, nodes: Json[]): Promise<Evaluated[]> {
  const statement = (template.statements as Json[])[0] as JsonObject;
  const selectNode = statement.node as JsonObject;
  const aliased = nodes.map((n, i) => ({ ...(n as JsonObject), alias: `c${i}` }));
  const json: JsonObject = {
    ...template,
    statements: [{ ...statement, node: { ...selectNode, select_list: aliased } }],
  };
  const [{ s }] = await compute.query<{ s: string }>(`SELECT json_deserialize_sql(${sqlString(stringifyJson(json))}::JSON) AS s`);
  const cols = nodes.flatMap((_, i) => [
    `typeof(c${i}) AS t${i}`,
    `CAST(c${i} AS VARCHAR) AS v${i}`,
    `TRY_CAST(CAST(c${i} AS VARCHAR) AS BOOLEAN) AS b${i}`,
  ]);
  const [row] = await compute.query(`SELECT ${cols.join(', ')} FROM (${s}) AS k`);
  return nodes.map((_, i) => {
    const v = row![`v${i}`];
    const b = row![`b${i}`];
    return {
      // typeof(NULL) prints as "NULL", quotes included.
      duckType: String(row![`t${i}`]).replace(/^"(.*)"$/, '$1'),
      text: v === null || v === undefined ? null : String(v),
      bool: typeof b === 'boolean' ? b : null,
    };
  });
}

/** Evaluates all nodes; if that fails (a bad cast somewhere), each alone, failures as undefined. */
async function evaluateAll(compute: Compute, template: JsonObject, nodes: Json[]): Promise<(Evaluated | undefined)[]> {
  try {
    return await evaluateConstants(compute, template, nodes);
  } catch {
    const out: (Evaluated | undefined)[] = [];
    for (const node of nodes) {
      try {
        out.push((await evaluateConstants(compute, template, [node]))[0]);
      } catch {
        out.push(undefined);
      }
    }
    return out;
  }
}

/** For VARCHAR constants: how DuckDB casts the text to the types a column may have. */
async function varcharCasts(compute: Compute, texts: string[]): Promise<Map<string, NonNullable<Literal['casts']>>> {
  const distinct = [...new Set(texts)];
  const out = new Map<string, NonNullable<Literal['casts']>>();
  if (distinct.length === 0) return out;
  const cols = distinct.flatMap((t, i) => {
    const v = `${sqlString(t)}::VARCHAR`;
    return [
      `CAST(TRY_CAST(${v} AS DATE) AS VARCHAR) AS d${i}`,
      `CAST(TRY_CAST(${v} AS TIMESTAMPTZ) AS VARCHAR) AS z${i}`,
      `CAST(TRY_CAST(${v} AS TIMESTAMP) AS VARCHAR) AS n${i}`,
      `TRY_CAST(${v} AS BOOLEAN) AS b${i}`,
      `CAST(TRY_CAST(${v} AS DOUBLE) AS VARCHAR) AS f${i}`,
    ];
  });
  const [row] = await compute.query(`SELECT ${cols.join(', ')}`);
  distinct.forEach((t, i) => {
    const s = (k: string) => {
      const v = row![`${k}${i}`];
      return v === null || v === undefined ? null : String(v);
    };
    const b = row![`b${i}`];
    out.set(t, { date: s('d'), timestamptz: s('z'), timestamp: s('n'), boolean: typeof b === 'boolean' ? b : null, double: s('f') });
  });
  return out;
}

/**
 * Parses a SQL predicate (over logical column names) with DuckDB into a Predicate for canSkipFile.
 * Throws InputError if it is not a single boolean expression (syntax error, several statements,
 * ORDER BY / LIMIT / GROUP BY tails, …). Constructs lakelet cannot reason about become 'unknown'
 * nodes, which never allow skipping on their own.
 */
export async function compilePredicate(compute: Compute, sql: string): Promise<Predicate> {
  if (sql.trim() === '') throw new InputError('The predicate is empty; give a SQL condition such as "a > 5".');
  let j: string;
  let tmpl: string;
  try {
    [{ j, tmpl }] = await compute.query<{ j: string; tmpl: string }>(
      `SELECT json_serialize_sql(${sqlString(`SELECT * FROM t WHERE ${sql}`)}) AS j, json_serialize_sql('SELECT 1') AS tmpl`,
    );
  } catch (cause) {
    throw new InputError(`Cannot parse the predicate ${JSON.stringify(sql)}: ${(cause as Error).message}`, { cause });
  }
  const parsed = parseJsonLossless(j);
  if (!isObj(parsed) || parsed.error === true) {
    const msg = isObj(parsed) ? str(parsed.error_message) ?? 'unknown error' : 'unparsable result';
    throw new InputError(`Cannot parse the predicate ${JSON.stringify(sql)}: ${msg}.`);
  }
  const statements = arr(parsed.statements);
  const node = isObj(statements[0]) ? statements[0].node : undefined;
  const clean =
    statements.length === 1 &&
    isObj(node) &&
    str(node.type) === 'SELECT_NODE' &&
    isObj(node.where_clause) &&
    arr(node.modifiers).length === 0 &&
    arr(node.group_expressions).length === 0 &&
    (node.having === null || node.having === undefined) &&
    (node.qualify === null || node.qualify === undefined) &&
    (node.sample === null || node.sample === undefined) &&
    isObj(node.from_table) &&
    str(node.from_table.type) === 'BASE_TABLE' &&
    str(node.from_table.table_name) === 't';
  if (!clean) {
    throw new InputError(
      `The predicate ${JSON.stringify(sql)} is not a single boolean condition (no ORDER BY, LIMIT, GROUP BY, ` +
        'UNION or extra statements); write it as you would after WHERE.',
    );
  }
  const compiler = new Compiler();
  const predicate = compiler.build((node as JsonObject).where_clause!);

  const nodes = [...compiler.constants.map((c) => c.node), ...compiler.booleans.map((b) => b.node)];
  if (nodes.length > 0) {
    const values = await evaluateAll(compute, parseJsonLossless(tmpl) as JsonObject, nodes);
    compiler.constants.forEach((c, i) => {
      const v = values[i];
      if (v) Object.assign(c.literal, { duckType: v.duckType, text: v.text });
      else Object.assign(c.literal, { duckType: 'UNKNOWN', text: null, failed: true });
    });
    const offset = compiler.constants.length;
    compiler.booleans.forEach((b, k) => {
      const v = values[offset + k];
      if (v) b.predicate.value = v.bool;
      else Object.assign(b.predicate, { kind: 'unknown', reason: 'constant that DuckDB cannot evaluate' });
    });
    const varchar = compiler.constants.map((c) => c.literal).filter((l) => l.duckType === 'VARCHAR' && l.text !== null);
    if (varchar.length > 0) {
      const casts = await varcharCasts(compute, varchar.map((l) => l.text!));
      for (const l of varchar) l.casts = casts.get(l.text!);
    }
  }
  return predicate;
}

/** The column paths a predicate refers to (as written), e.g. for checking they are partition columns. */
export function predicateColumns(p: Predicate): string[][] {
  switch (p.kind) {
    case 'and':
    case 'or':
      return p.children.flatMap(predicateColumns);
    case 'not':
      return predicateColumns(p.child);
    case 'compare':
    case 'in':
    case 'isNull':
      return [p.column];
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Values, bounds, comparisons
// ---------------------------------------------------------------------------------------------

type Domain = 'num' | 'time' | 'str';
/** A value known only to lie in [lo, hi] (lo = hi when exact). */
interface Interval<T> {
  lo: T;
  hi: T;
}
type Bound = { domain: 'num'; v: Interval<number> } | { domain: 'time'; v: Interval<bigint> } | { domain: 'str'; v: Interval<string> };

const INTEGRAL = new Set(['byte', 'short', 'integer', 'long']);

function domainOf(t: DataType): Domain | 'bool' | undefined {
  if (typeof t !== 'string') return undefined;
  if (INTEGRAL.has(t) || t === 'float' || t === 'double' || parseDecimalType(t)) return 'num';
  if (t === 'string') return 'str';
  if (t === 'date' || t === 'timestamp' || t === 'timestamp_ntz') return 'time';
  if (t === 'boolean') return 'bool';
  return undefined;
}

/** The next double towards +∞ / -∞. */
function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigUint64(0);
  buf.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return buf.getFloat64(0);
}
function nextDown(x: number): number {
  return -nextUp(-x);
}

/** Whether the double x is exactly the decimal number written in `text` (digits, optional point). */
function isExactDouble(x: number, text: string): boolean {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || !Number.isFinite(x)) return false;
  const frac = m[3] ?? '';
  const digits = BigInt(`${m[1]}${m[2] || '0'}${frac}`); // text = digits / 10^frac.length
  // x = mantissa · 2^exponent, exactly.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n ? -1n : 1n;
  const rawExp = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & 0xfffffffffffffn;
  let exponent: number;
  if (rawExp === 0) exponent = -1074;
  else {
    mantissa |= 1n << 52n;
    exponent = rawExp - 1075;
  }
  const scaled = sign * mantissa * 10n ** BigInt(frac.length);
  return exponent >= 0 ? scaled * 2n ** BigInt(exponent) === digits : scaled === digits * 2n ** BigInt(-exponent);
}

/**
 * A number given as decimal text (or a JSON number that came from decimal text): exact when the
 * text is exactly a double (1.5, 2^60, …), otherwise the neighbouring doubles around the nearest one.
 */
function decimalTextInterval(text: string): Interval<number> | undefined {
  const t = text.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  const x = Number(t);
  if (!Number.isFinite(x)) return undefined;
  if (!/[eE]/.test(t) && isExactDouble(x, t)) return { lo: x, hi: x };
  return { lo: nextDown(x), hi: nextUp(x) };
}

/** Widens a numeric interval for how DuckDB compares a column of Delta type `t` with it. */
function adjustForColumn(v: Interval<number>, t: string): Interval<number> {
  if (t === 'float') {
    // DuckDB may compare a FLOAT column in single precision (0.1::FLOAT = 0.1 is true).
    return { lo: Math.min(v.lo, Math.fround(v.lo)), hi: Math.max(v.hi, Math.fround(v.hi)) };
  }
  return v;
}

/** A value read from stats / partition values (JSON number or string) for a numeric column. */
function numericValue(raw: unknown, t: string): Interval<number> | undefined {
  let iv: Interval<number> | undefined;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return undefined;
    if (t === 'double') iv = { lo: raw, hi: raw };
    else if (t === 'float') iv = { lo: Math.min(raw, Math.fround(raw)), hi: Math.max(raw, Math.fround(raw)) };
    else if (Number.isSafeInteger(raw)) iv = { lo: raw, hi: raw };
    else iv = { lo: nextDown(raw), hi: nextUp(raw) };
  } else if (typeof raw === 'string') {
    const s = raw.trim();
    if (/^[+-]?(inf|infinity)$/i.test(s)) {
      const x = s.startsWith('-') ? -Infinity : Infinity;
      return { lo: x, hi: x };
    }
    iv = decimalTextInterval(s);
    if (iv && t === 'double' && !/[eE]/.test(s) && iv.lo !== iv.hi) {
      // A double's text is its shortest round-trip form: exact.
      const x = Number(s);
      iv = { lo: x, hi: x };
    }
    if (iv && t === 'float') {
      const x = Number(s);
      iv = { lo: Math.min(iv.lo, Math.fround(x)), hi: Math.max(iv.hi, Math.fround(x)) };
    }
  }
  return iv;
}

/** Delta stats value → bound. Timestamps are stored truncated to milliseconds: true value ∈ [v, v+999µs]. */
function statBound(raw: unknown, t: DataType): Bound | undefined {
  if (raw === null || raw === undefined || typeof t !== 'string') return undefined;
  const d = domainOf(t);
  if (d === 'num') {
    const v = numericValue(raw, t);
    return v ? { domain: 'num', v } : undefined;
  }
  if (d === 'str') return typeof raw === 'string' ? { domain: 'str', v: { lo: raw, hi: raw } } : undefined;
  if (d === 'time' && typeof raw === 'string') {
    if (t === 'date') {
      const days = parseDateToDays(raw);
      if (days === undefined) return undefined;
      const m = BigInt(days) * MICROS_PER_DAY;
      return { domain: 'time', v: { lo: m, hi: m } };
    }
    const ts = parseTimestamp(raw);
    if (!ts) return undefined;
    return { domain: 'time', v: { lo: ts.micros, hi: ts.micros + 999n } };
  }
  return undefined;
}

/** A partition value string → exact bound (or undefined if unusable). */
function partitionBound(raw: string, t: DataType): Bound | { domain: 'bool'; v: Interval<number> } | undefined {
  if (typeof t !== 'string') return undefined;
  const d = domainOf(t);
  if (d === 'num') {
    const v = numericValue(raw, t);
    return v && !Number.isNaN(v.lo) ? { domain: 'num', v } : undefined;
  }
  if (d === 'str') return { domain: 'str', v: { lo: raw, hi: raw } };
  if (d === 'bool') {
    const s = raw.trim().toLowerCase();
    if (s !== 'true' && s !== 'false') return undefined;
    const x = s === 'true' ? 1 : 0;
    return { domain: 'bool', v: { lo: x, hi: x } };
  }
  if (d === 'time') {
    if (t === 'date') {
      const days = parseDateToDays(raw);
      if (days === undefined) return undefined;
      const m = BigInt(days) * MICROS_PER_DAY;
      return { domain: 'time', v: { lo: m, hi: m } };
    }
    // No zone → UTC, consistent with partitionValueToSql.
    const ts = parseTimestamp(raw);
    if (!ts || (t === 'timestamp_ntz' && ts.hasZone)) return undefined;
    return { domain: 'time', v: { lo: ts.micros, hi: ts.micros } };
  }
  return undefined;
}

const NUMERIC_LITERAL = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\))$/;

function timeOfText(text: string | null, kind: 'date' | 'ts' | 'tstz' | 'ns'): Interval<bigint> | undefined {
  if (text === null) return undefined;
  if (kind === 'date') {
    const days = parseDateToDays(text);
    if (days === undefined) return undefined;
    const m = BigInt(days) * MICROS_PER_DAY;
    return { lo: m, hi: m };
  }
  const ts = parseTimestamp(text);
  if (!ts) return undefined;
  if (kind === 'ns') {
    // Sub-microsecond digits were truncated: the true value lies within the next microsecond.
    const frac = /\.(\d+)/.exec(text)?.[1] ?? '';
    const extra = frac.length > 6 && /[1-9]/.test(frac.slice(6));
    return { lo: ts.micros, hi: extra ? ts.micros + 1n : ts.micros };
  }
  return { lo: ts.micros, hi: ts.micros };
}

/**
 * The literal as a bound in the column's domain, following how DuckDB compares a column of Delta
 * type `t` with it; 'null' for NULL; undefined when lakelet cannot tell (then nothing is skipped).
 */
function literalBound(lit: Literal, t: DataType): Bound | { domain: 'bool'; v: Interval<number> } | 'null' | undefined {
  if (lit.failed) return undefined;
  if (lit.text === null) return 'null';
  if (typeof t !== 'string') return undefined;
  const d = domainOf(t);
  const ty = lit.duckType;
  if (d === 'num') {
    if (NUMERIC_LITERAL.test(ty)) {
      let v: Interval<number> | undefined;
      if (ty === 'DOUBLE') v = numericValue(lit.text, 'double');
      else if (ty === 'FLOAT') {
        const x = Math.fround(Number(lit.text));
        v = Number.isNaN(x) ? undefined : { lo: x, hi: x };
      } else v = decimalTextInterval(lit.text);
      if (!v || Number.isNaN(v.lo) || Number.isNaN(v.hi)) return undefined;
      return { domain: 'num', v: adjustForColumn(v, t) };
    }
    if (ty === 'VARCHAR' && lit.casts?.double) {
      // DuckDB casts the string to the column's type, rounding to its precision.
      const x = Number(lit.casts.double);
      if (!Number.isFinite(x)) return undefined;
      let v: Interval<number> = { lo: x, hi: x };
      if (INTEGRAL.has(t)) v = { lo: Math.floor(nextDown(x)), hi: Math.ceil(nextUp(x)) };
      else {
        const dec = parseDecimalType(t);
        if (dec) {
          const step = 10 ** -dec.scale;
          v = { lo: nextDown(x - step), hi: nextUp(x + step) };
        }
      }
      return { domain: 'num', v: adjustForColumn(v, t) };
    }
    return undefined;
  }
  if (d === 'str') return ty === 'VARCHAR' ? { domain: 'str', v: { lo: lit.text, hi: lit.text } } : undefined;
  if (d === 'bool') {
    const b = ty === 'BOOLEAN' ? lit.text === 'true' : ty === 'VARCHAR' ? lit.casts?.boolean : undefined;
    if (b === undefined || b === null) return undefined;
    return { domain: 'bool', v: { lo: b ? 1 : 0, hi: b ? 1 : 0 } };
  }
  if (d === 'time') {
    let v: Interval<bigint> | undefined;
    if (ty === 'DATE') v = timeOfText(lit.text, 'date');
    else if (ty === 'TIMESTAMP' || ty === 'TIMESTAMP_S' || ty === 'TIMESTAMP_MS' || ty === 'TIMESTAMP WITH TIME ZONE') {
      v = timeOfText(lit.text, 'ts');
    } else if (ty === 'TIMESTAMP_NS') v = timeOfText(lit.text, 'ns');
    else if (ty === 'VARCHAR' && lit.casts) {
      if (t === 'date') v = timeOfText(lit.casts.date, 'date');
      else if (t === 'timestamp') v = timeOfText(lit.casts.timestamptz, 'ts');
      else v = timeOfText(lit.casts.timestamp, 'ts');
    }
    return v ? { domain: 'time', v } : undefined;
  }
  return undefined;
}

/** Orders strings by code point (= UTF-8 byte order, which is how DuckDB and Parquet compare). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xD800–0xDFFF) encode code points above 0xFFFF: move them above the BMP.
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

type AnyBound = Bound | { domain: 'bool'; v: Interval<number> };

function cmp(a: number | bigint | string, b: number | bigint | string): number {
  if (typeof a === 'string' && typeof b === 'string') return compareUtf8(a, b);
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  const x = a as number;
  const y = b as number;
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Evaluating a predicate against one file
// ---------------------------------------------------------------------------------------------

/** What one file tells about one column. */
interface Facts {
  /** Some row may hold NULL. */
  mayNull: boolean;
  /** Some row may hold a non-NULL value. */
  mayNonNull: boolean;
  type: DataType;
  /** Lower bound of the non-null values (true min ≥ lower.lo); undefined = unbounded. */
  lower?: AnyBound;
  /** Upper bound (true max ≤ upper.hi). */
  upper?: AnyBound;
}

/** Possible outcomes over the rows of a file: some row may make it TRUE / FALSE. */
interface Outcome {
  t: boolean;
  f: boolean;
}
const UNKNOWN: Outcome = { t: true, f: true };
const NEITHER: Outcome = { t: false, f: false };

export interface SkippingFile {
  partitionValues: Record<string, string | null>;
  stats?: FileStats;
}

interface Context {
  file: SkippingFile;
  schema: StructType;
  partitions: Set<string>;
  physicalNameOf: PhysicalNameOf;
}

function findField(fields: StructField[], name: string): StructField | undefined {
  return fields.find((f) => f.name === name) ?? fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
}

function getPath(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function partitionValueOf(pv: Record<string, string | null>, keys: string[]): { found: boolean; value: string | null } {
  for (const k of keys) if (Object.prototype.hasOwnProperty.call(pv, k)) return { found: true, value: pv[k] ?? null };
  const lower = keys.map((k) => k.toLowerCase());
  for (const [k, v] of Object.entries(pv)) if (lower.includes(k.toLowerCase())) return { found: true, value: v };
  return { found: false, value: null };
}

function factsFor(column: string[], ctx: Context): Facts | undefined {
  const top = findField(ctx.schema.fields, column[0]!);
  if (!top) return undefined;
  if (ctx.partitions.has(top.name.toLowerCase())) {
    if (column.length !== 1) return undefined;
    const { found, value } = partitionValueOf(ctx.file.partitionValues ?? {}, [ctx.physicalNameOf(top.name, top, []), top.name]);
    if (!found) return undefined;
    // '' is null for every type (PROTOCOL.md, Partition Value Serialization).
    if (value === null || value === '') return { mayNull: true, mayNonNull: false, type: top.type };
    const b = partitionBound(value, top.type);
    return { mayNull: false, mayNonNull: true, type: top.type, lower: b, upper: b };
  }
  // A data column, possibly nested in structs.
  let field = top;
  const logical: string[] = [];
  const physical: string[] = [ctx.physicalNameOf(top.name, top, [])];
  for (const name of column.slice(1)) {
    if (!isStruct(field.type)) return undefined;
    logical.push(field.name);
    const child = findField(field.type.fields, name);
    if (!child) return undefined;
    physical.push(ctx.physicalNameOf(child.name, child, [...logical]));
    field = child;
  }
  const stats = ctx.file.stats;
  if (!stats) return { mayNull: true, mayNonNull: true, type: field.type };
  const numRecords = stats.numRecords;
  const nulls = getPath(stats.nullCount, physical);
  const nullCount = typeof nulls === 'number' ? nulls : undefined;
  const facts: Facts = {
    mayNull: nullCount !== 0,
    // nullCount == numRecords means every (valid) row is null, even with wide bounds.
    mayNonNull: !(typeof numRecords === 'number' && nullCount === numRecords),
    type: field.type,
  };
  if (!isStruct(field.type)) {
    facts.lower = statBound(getPath(stats.minValues, physical), field.type);
    facts.upper = statBound(getPath(stats.maxValues, physical), field.type);
  }
  return facts;
}

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
