/**
 * Constant sub-expressions of a predicate, evaluated by DuckDB rather than interpreted here, so
 * every literal has exactly DuckDB's type and value: the nodes are put back into a SELECT of their
 * own (json_deserialize_sql) and run once; VARCHAR literals also get DuckDB's casts to the types a
 * column may have (a string compared with a typed column is cast to its type).
 */
import type { Compute } from '../../../adapters/compute/compute.ts';
import { sqlString } from '../../../adapters/compute/sql.ts';
import type { Literal } from './predicate.ts';
import { stringifyJson, type Json, type JsonObject } from './lossless-json.ts';

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
export async function evaluateAll(compute: Compute, template: JsonObject, nodes: Json[]): Promise<(Evaluated | undefined)[]> {
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
export async function varcharCasts(compute: Compute, texts: string[]): Promise<Map<string, NonNullable<Literal['casts']>>> {
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
