import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUriLocation } from '../adapters/storage/location.ts';

/**
 * Where a batch keeps its normalized inputs and its stage Parquet until it is done: always a local
 * folder, since DuckDB writes and reads local files only. Under a local stateDir it is
 * `<stateDir>/work/<seq>`; a stateDir on gs:// gets a folder of the machine's temp dir, one per
 * stateDir. Nothing there is needed to recover a batch (a redo prepares it again from landing), so
 * a Cloud Function's throwaway disk is enough.
 */
export function batchWorkDir(stateDir: string, seq: number): string {
  if (!isUriLocation(stateDir)) return join(stateDir, 'work', String(seq));
  const id = createHash('sha256').update(stateDir).digest('hex').slice(0, 16);
  return join(tmpdir(), 'lakelet-work', id, 'work', String(seq));
}
