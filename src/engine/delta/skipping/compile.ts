/**
 * SQL text → Predicate: DuckDB parses the predicate (json_serialize_sql), the tree is read
 * losslessly and reduced to a Predicate (parse-tree.ts), and its constants are evaluated by DuckDB
 * (constants.ts).
 */
import type { Compute } from '../../../adapters/compute/compute.ts';
import { sqlString } from '../../../adapters/compute/sql.ts';
import { InputError } from '../../errors.ts';
import type { Predicate } from './predicate.ts';
import { arr, isObj, parseJsonLossless, str, type JsonObject } from './lossless-json.ts';
import { Compiler } from './parse-tree.ts';
import { evaluateAll, varcharCasts } from './constants.ts';

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
