import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlString } from '../../adapters/compute/sql.ts';
import type { BatchKeys } from './batch-keys.ts';
import type { SyntheticDataset } from './dataset.ts';

export type OutputFormat = 'csv' | 'ndjson' | 'parquet';

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['csv', 'ndjson', 'parquet'];

export function extensionOf(format: OutputFormat): string {
  return format === 'ndjson' ? '.ndjson' : `.${format}`;
}

export interface WrittenFile {
  path: string;
  rows: number;
  bytes: number;
}

export interface BatchWriteOptions {
  format: OutputFormat;
  /** One path per output file; the batch's rows are split evenly over them, in order. */
  paths: string[];
  /** Add an `op` column ('I' new, 'U' update, 'D' delete) after the dataset's columns. */
  opColumn: boolean;
  /** Called after each file is complete. */
  onFile?: (file: WrittenFile) => void;
}

/** `COPY … TO` options per format; fixed so that the bytes depend only on the rows. */
function copyOptions(format: OutputFormat): string {
  switch (format) {
    case 'csv':
      return "FORMAT csv, HEADER true, DELIMITER ','";
    case 'ndjson':
      return 'FORMAT json';
    case 'parquet':
      return 'FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880';
  }
}

/**
 * Writes one synthetic batch: every file is one DuckDB `COPY (SELECT …) TO`, over the rows
 * pos ∈ [from, to) of the batch. Each file is written under a hidden temporary name and renamed
 * into place when complete, so a folder watcher never sees half a file.
 */
export async function writeBatch(compute: Compute, dataset: SyntheticDataset, keys: BatchKeys, options: BatchWriteOptions): Promise<WrittenFile[]> {
  const { rows, seed, batch } = keys.spec;
  const k = options.paths.length;
  if (k === 0) throw new RangeError('writeBatch needs at least one output path.');
  const columns = dataset.select({ seed, batch, id: 'k.id', op: 'k.op' });
  if (options.opColumn) columns.push('k.op AS op');
  const written: WrittenFile[] = [];
  for (let j = 0; j < k; j++) {
    const from = Math.floor((j * rows) / k);
    const to = Math.floor(((j + 1) * rows) / k);
    const path = options.paths[j];
    const partial = join(dirname(path), `.${basename(path)}.partial`);
    const order = keys.ordered ? ' ORDER BY k.pos' : '';
    try {
      await compute.run(`COPY (SELECT ${columns.join(', ')} FROM (${keys.slice(from, to)}) k${order}) TO ${sqlString(partial)} (${copyOptions(options.format)})`);
      await rename(partial, path);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    const file: WrittenFile = { path, rows: to - from, bytes: (await stat(path)).size };
    written.push(file);
    options.onFile?.(file);
  }
  return written;
}
