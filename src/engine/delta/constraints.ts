import type { StructType } from './schema.ts';
import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlIdent } from '../../adapters/compute/sql.ts';
import { ConstraintViolationError } from '../errors.ts';

export interface Constraint {
  name: string;
  /** SQL that must be true for every row. */
  expression: string;
  kind: 'not-null' | 'check';
}

/** NOT NULL columns (top level) and `delta.constraints.<name>` CHECK expressions of a table. */
export function tableConstraints(schema: StructType, configuration: Record<string, string>): Constraint[] {
  const out: Constraint[] = schema.fields
    .filter((f) => !f.nullable)
    .map((f) => ({ name: `${f.name} NOT NULL`, expression: `${sqlIdent(f.name)} IS NOT NULL`, kind: 'not-null' as const }));
  for (const [key, expression] of Object.entries(configuration)) {
    if (key.startsWith('delta.constraints.')) out.push({ name: key.slice('delta.constraints.'.length), expression, kind: 'check' });
  }
  return out;
}

/**
 * Fails the write if any row of `sourceSql` violates a constraint, naming the constraint and one
 * offending row. Like Delta, a CHECK whose expression is NULL for a row counts as violated.
 */
export async function enforceConstraints(compute: Compute, tablePath: string, constraints: Constraint[], sourceSql: string): Promise<void> {
  if (constraints.length === 0) return;
  const cases = constraints.map((c, i) => `WHEN NOT coalesce((${c.expression}), false) THEN ${i}`).join(' ');
  const rows = await compute.query<{ i: number; row: string }>(
    `SELECT CASE ${cases} END AS i, to_json(s)::VARCHAR AS row FROM (${sourceSql}) s ` +
      `WHERE NOT (${constraints.map((c) => `coalesce((${c.expression}), false)`).join(' AND ')}) LIMIT 1`,
  );
  if (rows.length === 0) return;
  const c = constraints[Number(rows[0].i)];
  throw new ConstraintViolationError(
    tablePath,
    c.name,
    `${c.kind === 'check' ? `CHECK constraint '${c.name}' (${c.expression})` : `constraint ${c.name}`} is violated by row ${rows[0].row}. ` +
      'The batch was not written; fix or filter the offending rows.',
  );
}
