import type { Column, PipelineTables } from '../warehouse/warehouse.ts';
import { FileRejectedError } from './errors.ts';
import type { FilePlan } from './stage-select.ts';

/**
 * Refuses a file that brings a column the warehouse cannot store (a TIME column into Delta, say),
 * naming the column and the transform that fixes it. Checked when the file is planned, so only
 * that file is quarantined: found at the stage commit instead, it failed the whole batch, and
 * every later run retried the same batch and failed again.
 *
 * `added`: the stage columns the file adds (established ones are stored already).
 */
export function checkStorable(tables: PipelineTables, pipeline: string, plan: FilePlan, added: Column[]): void {
  if (!tables.unstorable || added.length === 0) return;
  for (const c of added) {
    const why = tables.unstorable(c);
    if (why === undefined) continue;
    // transforms are keyed by the file's own column name (before any rename).
    const i = plan.derived.findIndex((d) => d.name.toLowerCase() === c.name.toLowerCase());
    const source = i >= 0 ? plan.raw.columns[i].name : c.name;
    throw new FileRejectedError(
      'schema',
      // The warehouse's text names the column (or its nested field), its type, and why.
      why,
      undefined,
      `cast it when it is read: add transforms: { ${yamlKey(source)}: { cast: VARCHAR } } to this pipeline in lakelet.yml, then run \`lakelet requeue ${plan.key} -p ${pipeline}\``,
    );
  }
}

/** A column name as a YAML flow-mapping key (quoted when it is not a plain word). */
function yamlKey(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : JSON.stringify(name);
}
