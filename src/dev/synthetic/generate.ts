import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Compute } from '../../adapters/compute/compute.ts';
import { InputError } from '../../errors/lakelet-error.ts';
import { prepareBatchKeys, validateKeySpec, type BatchKeySpec, type KeyOrder } from './batch-keys.ts';
import { extensionOf, writeBatch, type OutputFormat, type WrittenFile } from './batch-writer.ts';
import type { SyntheticDataset } from './dataset.ts';
import { accounts } from './accounts.ts';
import { orders } from './orders.ts';
import { assertSeed } from './random.ts';

export const DATASETS: Record<string, SyntheticDataset> = { accounts, orders };

export function datasetNamed(name: string): SyntheticDataset {
  const d = DATASETS[name];
  if (!d) throw new InputError(`unknown synthetic dataset '${name}'; choose one of: ${Object.keys(DATASETS).join(', ')}.`);
  return d;
}

/** Defaults shared by the CLI and the library. */
export const GENERATE_DEFAULTS = {
  rows: 100_000,
  initialFiles: 1,
  batches: 0,
  updatesFraction: 0.5,
  deleteFraction: 0,
  skew: 0,
  hotFraction: 1,
  hotBlocks: 100,
  initialOrder: 'sorted' as KeyOrder,
  order: 'unsorted' as KeyOrder,
  format: 'csv' as OutputFormat,
  seed: 42,
};

export interface GenerateOptions {
  dataset: SyntheticDataset;
  /** Rows of the initial load: ids 1..rows. */
  rows: number;
  /** Write the initial load (default true). Without it, only the incremental files are written, against `rows` existing ids. */
  initial?: boolean;
  /** Files the initial load is split into (default 1). */
  initialFiles?: number;
  initialOrder?: KeyOrder;
  /** Incremental files after the initial load, one batch each (default 0). */
  batches?: number;
  /** Rows per incremental file (default: a tenth of `rows`, at least 1). */
  batchRows?: number;
  /** Share of an incremental file's rows that re-send existing keys with new values. */
  updatesFraction?: number;
  /** Share of an incremental file's rows that delete existing keys (op = 'D'). */
  deleteFraction?: number;
  /** Zipf-like exponent for which existing keys are updated (0 = uniform). */
  skew?: number;
  /** Share of the key space updates and deletes come from (1 = anywhere). */
  hotFraction?: number;
  /** Contiguous blocks the key space is cut into for `hotFraction` (default 100). */
  hotBlocks?: number;
  /** Row order of the incremental files (default unsorted). */
  order?: KeyOrder;
  /** Add an `op` column (I/U/D); default: when deleteFraction > 0. */
  opColumn?: boolean;
  format?: OutputFormat;
  seed?: number;
  out: string;
  /** File name prefix (default: the dataset's name). */
  prefix?: string;
  /** Called once before any file is written, with what will be written. */
  onPlan?: (plan: { files: number; rows: number }) => void;
  onFile?: (file: GeneratedFile, done: number, total: number) => void;
}

export interface GeneratedFile extends WrittenFile {
  /** 0 = initial load. */
  batch: number;
  inserts: number;
  updates: number;
  deletes: number;
}

export interface GenerateResult {
  dataset: string;
  key: string;
  orderBy: string;
  format: OutputFormat;
  seed: number;
  columns: string[];
  files: GeneratedFile[];
  rows: number;
  bytes: number;
  /** Distinct ids issued after the last file (ids 1..keysIssued). */
  keysIssued: number;
}

interface PlannedBatch {
  spec: BatchKeySpec;
  paths: string[];
}

function fraction(name: string, v: number): number {
  if (!(v >= 0 && v <= 1)) throw new InputError(`${name} must be between 0 and 1, got ${v}.`);
  return v;
}

function count(name: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) throw new InputError(`${name} must be a whole number of at least ${min}, got ${v}.`);
  return v;
}

/** The batches and file names a generate call writes, validated before anything is written. */
export function planGenerate(options: GenerateOptions): { batches: PlannedBatch[]; format: OutputFormat; seed: number; opColumn: boolean } {
  const o = { ...GENERATE_DEFAULTS, ...stripUndefined(options), dataset: options.dataset, out: options.out };
  const seed = o.seed;
  try {
    assertSeed(seed);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  count('rows', o.rows, 0);
  count('initial files', o.initialFiles, 1);
  count('incremental files', o.batches, 0);
  const batchRows = count('batch rows', options.batchRows ?? Math.max(1, Math.round(o.rows / 10)), 0);
  fraction('updates fraction', o.updatesFraction);
  fraction('delete fraction', o.deleteFraction);
  if (o.updatesFraction + o.deleteFraction > 1 + 1e-9) throw new InputError(`updates fraction ${o.updatesFraction} + delete fraction ${o.deleteFraction} exceed 1.`);
  const prefix = o.prefix ?? o.dataset.name;
  const ext = extensionOf(o.format);
  const initial = options.initial ?? true;
  const totalBatches = o.batches + 1;
  const width = Math.max(4, String(totalBatches).length);
  const fileName = (batch: number, part: number, parts: number) =>
    `${prefix}-b${String(batch).padStart(width, '0')}${parts > 1 ? `-p${String(part).padStart(Math.max(5, String(parts).length), '0')}` : ''}${ext}`;
  const base = { seed, skew: o.skew, hotFraction: o.hotFraction, hotBlocks: o.hotBlocks };
  const batches: PlannedBatch[] = [];
  if (initial) {
    const spec: BatchKeySpec = { ...base, batch: 0, rows: o.rows, existing: 0, firstNewId: 1, updates: 0, deletes: 0, order: o.initialOrder, hotFraction: 1 };
    validateKeySpec(spec);
    batches.push({ spec, paths: Array.from({ length: o.initialFiles }, (_, j) => join(o.out, fileName(0, j, o.initialFiles))) });
  }
  let existing = o.rows;
  for (let b = 1; b <= o.batches; b++) {
    const updates = Math.round(batchRows * o.updatesFraction);
    const deletes = Math.min(batchRows - updates, Math.round(batchRows * o.deleteFraction));
    const spec: BatchKeySpec = { ...base, batch: b, rows: batchRows, existing, firstNewId: existing + 1, updates, deletes, order: o.order };
    validateKeySpec(spec);
    batches.push({ spec, paths: [join(o.out, fileName(b, 0, 1))] });
    existing += batchRows - updates - deletes;
  }
  return { batches, format: o.format, seed, opColumn: options.opColumn ?? o.deleteFraction > 0 };
}

/**
 * Writes an initial load and/or incremental files of a synthetic dataset into `out`. Everything is
 * computed inside DuckDB; the same options and seed give byte-identical files.
 */
export async function generate(compute: Compute, options: GenerateOptions): Promise<GenerateResult> {
  const plan = planGenerate(options);
  await mkdir(options.out, { recursive: true });
  const total = plan.batches.reduce((a, b) => a + b.paths.length, 0);
  options.onPlan?.({ files: total, rows: plan.batches.reduce((a, b) => a + b.spec.rows, 0) });
  const files: GeneratedFile[] = [];
  let keysIssued = options.initial === false ? options.rows : 0;
  for (const batch of plan.batches) {
    const keys = await prepareBatchKeys(compute, batch.spec);
    try {
      const { updates, deletes, rows } = batch.spec;
      const onFile = (f: WrittenFile) => {
        const whole = batch.paths.length === 1;
        const g: GeneratedFile = {
          ...f,
          batch: batch.spec.batch,
          inserts: whole ? rows - updates - deletes : f.rows,
          updates: whole ? updates : 0,
          deletes: whole ? deletes : 0,
        };
        files.push(g);
        options.onFile?.(g, files.length, total);
      };
      await writeBatch(compute, options.dataset, keys, { format: plan.format, paths: batch.paths, opColumn: plan.opColumn, onFile });
      keysIssued = Math.max(keysIssued, batch.spec.firstNewId - 1 + rows - updates - deletes);
    } finally {
      await keys.release();
    }
  }
  return {
    dataset: options.dataset.name,
    key: options.dataset.key,
    orderBy: options.dataset.orderBy,
    format: plan.format,
    seed: plan.seed,
    columns: [...options.dataset.columns, ...(plan.opColumn ? ['op'] : [])],
    files,
    rows: files.reduce((a, f) => a + f.rows, 0),
    bytes: files.reduce((a, f) => a + f.bytes, 0),
    keysIssued,
  };
}

/** One batch written to explicit paths: for harnesses that lay out their own files. */
export async function generateBatch(
  compute: Compute,
  dataset: SyntheticDataset,
  spec: BatchKeySpec,
  output: { format: OutputFormat; paths: string[]; opColumn?: boolean },
): Promise<WrittenFile[]> {
  const keys = await prepareBatchKeys(compute, spec);
  try {
    return await writeBatch(compute, dataset, keys, { format: output.format, paths: output.paths, opColumn: output.opColumn ?? false });
  } finally {
    await keys.release();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
