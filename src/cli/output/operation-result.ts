import { printJson } from '../options.ts';
import { formatKeyValues, humanBytes } from './table-format.ts';

/** What a table-changing command reports: the table, the version it made, the operation's metrics. */
export interface CliOperationResult<M> {
  table: string;
  version: number;
  metrics: M;
  skipped?: string;
}

/**
 * The two outputs every table-changing command shares: `--json` (the metrics flat, plus table and
 * version), and the one line saying nothing was done. Returns true when it printed either.
 */
export function printJsonOrSkipped<M extends object>(result: CliOperationResult<M>, json: boolean | undefined, nothingDone: string): boolean {
  if (json) {
    printJson({ table: result.table, version: result.version, ...result.metrics, ...(result.skipped ? { skipped: result.skipped } : {}) });
    return true;
  }
  if (result.skipped) {
    process.stdout.write(`${nothingDone} ${result.table} (still version ${result.version}): ${result.skipped}\n`);
    return true;
  }
  return false;
}

/** The file/row/time lines of an operation that rewrites data files (DELETE, UPDATE). */
export function rewriteDetails(m: {
  numRemovedFiles: number;
  numRemovedBytes: number;
  numAddedFiles: number;
  numAddedBytes: number;
  numCopiedRows: number;
  numAddedChangeFiles: number;
  executionTimeMs: number;
  scanTimeMs: number;
  rewriteTimeMs: number;
}): string {
  return formatKeyValues([
    ['files removed', `${m.numRemovedFiles} (${humanBytes(m.numRemovedBytes)})`],
    ['files added', `${m.numAddedFiles} (${humanBytes(m.numAddedBytes)})`],
    ['rows copied', String(m.numCopiedRows)],
    ['change files', String(m.numAddedChangeFiles)],
    ['time', `${m.executionTimeMs} ms (scan ${m.scanTimeMs} ms, rewrite ${m.rewriteTimeMs} ms)`],
  ]);
}
