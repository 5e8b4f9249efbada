import { duckDbTypeToDelta } from '../../engine/delta/duckdb-types.ts';
import { InputError } from '../../errors/lakelet-error.ts';
import type { Column } from '../warehouse.ts';

/**
 * Why a Delta table cannot hold a column of this DuckDB type (TIME, INTERVAL, UNION, BIT, …, also
 * nested in a STRUCT or list), or undefined. Answers are kept per type: a batch of many files asks
 * about the same few types again and again.
 */
export function unstorableInDelta(column: Column): string | undefined {
  let why = verdicts.get(column.type);
  if (why === undefined) {
    try {
      duckDbTypeToDelta(column.type, column.name);
      why = '';
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      // The engine's text names the column (or the nested field) and says why; the caller adds what to do.
      why = err.message.replace(/\.$/, '');
    }
    // The text names the column it was found in: kept only when there is nothing to say.
    if (why === '') verdicts.set(column.type, why);
  }
  return why === '' ? undefined : why;
}

const verdicts = new Map<string, string>();
