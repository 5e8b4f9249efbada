/**
 * MERGE clauses, evaluated in order like Delta's: the first clause of a kind whose condition holds
 * decides what happens to a row. Each clause gets a numeric code stored per joined row, so the
 * decision is made once (in DuckDB) and reused for output, metrics and file selection.
 */
import { InputError } from '../../errors.ts';

export type ClauseKind = 'matched-update' | 'matched-delete' | 'not-matched-insert' | 'by-source-update' | 'by-source-delete';

export interface MergeClause {
  kind: ClauseKind;
  /** SQL over the aliases of target and source; undefined = always. */
  condition?: string;
  /** For update/insert: target column → SQL expression. undefined = all columns from the source. */
  set?: Record<string, string>;
}

/** Codes: 1..99 matched, 101..199 not matched (insert), 201..299 not matched by source. */
export const CODE_MATCHED_NONE = 0;
export const CODE_NOT_MATCHED_NONE = -1;
export const CODE_BY_SOURCE_NONE = 200;

export interface CodedClause extends MergeClause {
  code: number;
}

export function codeClauses(clauses: MergeClause[]): CodedClause[] {
  let matched = 0;
  let insert = 100;
  let bySource = 200;
  return clauses.map((c) => {
    if (c.kind.startsWith('matched')) return { ...c, code: ++matched };
    if (c.kind === 'not-matched-insert') return { ...c, code: ++insert };
    return { ...c, code: ++bySource };
  });
}

export function isDelete(c: CodedClause): boolean {
  return c.kind === 'matched-delete' || c.kind === 'by-source-delete';
}

export function isUpdate(c: CodedClause): boolean {
  return c.kind === 'matched-update' || c.kind === 'by-source-update';
}

/** `CASE WHEN cond THEN code … ELSE fallback END` for one family of clauses. */
export function decisionSql(clauses: CodedClause[], fallback: number): string {
  if (clauses.length === 0) return String(fallback);
  const whens = clauses.map((c) => `WHEN ${c.condition ? `coalesce((${c.condition}), false)` : 'true'} THEN ${c.code}`);
  return `CASE ${whens.join(' ')} ELSE ${fallback} END`;
}

/**
 * Delta's rule: among the clauses of one kind (matched / not matched / not matched by source), only
 * the last may omit its condition — an unconditional clause earlier would make the later ones dead.
 */
export function assertOnlyLastUnconditional(clauses: MergeClause[]): void {
  const families: [string, (c: MergeClause) => boolean][] = [
    ['WHEN MATCHED', (c) => c.kind.startsWith('matched')],
    ['WHEN NOT MATCHED', (c) => c.kind === 'not-matched-insert'],
    ['WHEN NOT MATCHED BY SOURCE', (c) => c.kind.startsWith('by-source')],
  ];
  for (const [name, inFamily] of families) {
    const family = clauses.filter(inFamily);
    const early = family.slice(0, -1).findIndex((c) => !c.condition);
    if (early >= 0) {
      throw new InputError(`MERGE: ${name} clause ${early + 1} of ${family.length} has no condition, so the clauses after it could never apply; only the last ${name} clause may omit its condition.`);
    }
  }
}
