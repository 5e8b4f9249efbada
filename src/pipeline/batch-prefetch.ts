import type { ObjectMeta } from '../adapters/storage/object-store.ts';
import type { PipelineRuntime } from './runtime.ts';
import { directLoadFor } from './direct-load.ts';
import { sha256 } from './file-mover.ts';
import { checkCsvText, type CheckedCsv } from './file-reader.ts';

/**
 * The next batch's files, read, hashed and (CSV) checked while the current batch runs. A batch's
 * steps are mostly DuckDB statements that keep one core busy while this thread waits; planning
 * the next batch is this thread's work (a 100-file batch of 1,000-row CSV files: ~45 ms of reads,
 * hashes and checks). Done ahead, it overlaps. Nothing is written: planBatch takes a file's result
 * only if the file's listing still matches (a fresh head), exactly as for a file it reads itself.
 */
export type Prefetched = Map<string, Promise<PrefetchedFile>>;

export interface PrefetchedFile {
  /** Absent: the file was gone when read. */
  data?: Uint8Array;
  sum?: string;
  /** The CSV check of these bytes (checkCsvText), or the error it threw. */
  checked?: { value: CheckedCsv } | { error: unknown };
}

/** Bytes read ahead at most (the files past it are read when planned, as before). */
const PREFETCH_BYTES = 32 * 1024 * 1024;

/** Starts reading the batch's files one after another in the background; each file's result is a promise that never rejects. */
export function prefetchBatch(rt: PipelineRuntime, candidates: ObjectMeta[]): Prefetched {
  const files: Prefetched = new Map();
  let bytes = 0;
  let previous: Promise<unknown> = Promise.resolve();
  for (const c of candidates) {
    // A file the warehouse may load itself is not read by planning (direct-load.ts).
    if (directLoadFor(rt, c)) continue;
    if (bytes + c.size > PREFETCH_BYTES) break;
    bytes += c.size;
    // One file at a time: the current batch's statements come first, this fills their waits.
    const read = previous.then(() => readAndCheck(rt, c));
    previous = read;
    files.set(c.key, read);
  }
  return files;
}

async function readAndCheck(rt: PipelineRuntime, c: ObjectMeta): Promise<PrefetchedFile> {
  let data: Uint8Array;
  try {
    data = await rt.landing.get(c.key);
  } catch {
    return {};
  }
  // A file of another size is still being written: planBatch sees that and leaves it for later.
  if (data.length !== c.size) return { data };
  const sum = sha256(data);
  if (rt.pipeline.format !== 'csv') return { data, sum };
  try {
    return { data, sum, checked: { value: checkCsvText(data, rt.pipeline) } };
  } catch (error) {
    return { data, sum, checked: { error } };
  }
}
