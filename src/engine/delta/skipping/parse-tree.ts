/**
 * DuckDB's parse tree of a WHERE clause → Predicate. `json_serialize_sql` prints the tree as JSON
 * (no binding, so unknown columns do not fail); its shape, as DuckDB 1.5 prints it:
 * `{"error":false,"statements":[{"node":{"type":"SELECT_NODE","where_clause":<expr>,…}}]}`, each
 * expression an object with `class` and `type`:
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
 * Constant sub-expressions are not interpreted here: each becomes a Literal (or a constant
 * predicate) that constants.ts fills in with DuckDB's own evaluation.
 */
import type { CompareOp, Literal, Predicate } from './predicate.ts';
import { arr, isObj, str, type Json, type JsonObject } from './lossless-json.ts';

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

export class Compiler {
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
