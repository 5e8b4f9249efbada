import { sqlString } from '../adapters/compute/sql.ts';
import type { PipelineConfig } from './config.ts';
import { FILE_COLUMN, REC } from './file-reader.ts';
import { fileSelect, type Column, type FilePlan } from './stage-select.ts';

/**
 * The SELECTs of a batch's files (fileSelect), with the files read into one temp table
 * (readCsvGroup) taken together: one SELECT over the table for a run of such files instead of one
 * per file glued by UNION ALL. DuckDB runs each branch of a UNION ALL as a pipeline of its own, one
 * after another: a hundred 1,000-row branches cost several times one 100,000-row scan, in the
 * validation check and again in the stage write (and DESCRIBE of the write plans them all).
 *
 * A run is consecutive files of one table with the same derived columns, checked against the same
 * stage columns, and (for the stage rows) without bad records to leave out: their SELECTs differ
 * only by `_source_file` and the record number, which the joined file list gives per row.
 */
export interface SelectPart {
  sql: string;
  /** The files whose rows it holds; with more than one, the rows say theirs in `_source_file`. */
  keys: string[];
}

/** The column a joined SELECT carries each row's file key in (its `_source_file`). */
const KEY_COLUMN = '__lakelet_key';

export function batchSelects(
  pipeline: PipelineConfig,
  entries: { plan: FilePlan; columns: Column[] }[],
  lineage: { batch: number; ingestedAt: number },
  options: { flagBad?: boolean } = {},
): SelectPart[] {
  const parts: SelectPart[] = [];
  let run: { plan: FilePlan; columns: Column[]; shape: string }[] = [];
  const close = () => {
    if (run.length === 1) parts.push({ sql: fileSelect(pipeline, run[0].plan, run[0].columns, lineage, options), keys: [run[0].plan.key] });
    else if (run.length > 1) parts.push({ sql: fileSelect(pipeline, joined(run.map((r) => r.plan)), run[0].columns, lineage, options), keys: run.map((r) => r.plan.key) });
    run = [];
  };
  for (const { plan, columns } of entries) {
    // Bad records left out of the stage are filtered and renumbered per file: such a file goes alone.
    const joinable = plan.raw.group !== undefined && plan.raw.sql !== undefined && plan.raw.bad.length === 0 && (options.flagBad === true || plan.bad.length === 0);
    if (!joinable) {
      close();
      parts.push({ sql: fileSelect(pipeline, plan, columns, lineage, options), keys: [plan.key] });
      continue;
    }
    const shape = `${plan.raw.group!.table}|${JSON.stringify(plan.derived)}|${JSON.stringify(columns)}`;
    if (run.length > 0 && run[0].shape !== shape) close();
    run.push({ plan, columns, shape });
  }
  close();
  return parts;
}

/** One plan for files of one group table: each row gets its file's key and its record number in that file. */
function joined(plans: FilePlan[]): FilePlan {
  const first = plans[0];
  const { table } = first.raw.group!;
  const files = plans.map((p) => `(${sqlString(p.raw.group!.path)}, ${sqlString(p.key)}, CAST(${p.raw.group!.lo} AS BIGINT))`).join(', ');
  const records = plans.reduce((a, p) => a + p.raw.records, 0);
  const sql = `SELECT __g.* EXCLUDE (${FILE_COLUMN}), __g.rowid - __m.lo AS ${REC}, __m.k AS ${KEY_COLUMN} FROM ${table} AS __g JOIN (VALUES ${files}) AS __m(p, k, lo) ON __g.${FILE_COLUMN} = __m.p`;
  return {
    ...first,
    key: first.key,
    raw: { ...first.raw, sql, records, bad: [] },
    bad: [],
    rows: plans.reduce((a, p) => a + p.rows, 0),
    leftOut: 0,
    sourceFile: KEY_COLUMN,
  };
}
