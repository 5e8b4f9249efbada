import { LocalObjectStore } from '../adapters/storage/local/local-object-store.ts';
import { RESCUED, type Column } from '../warehouse/warehouse.ts';
import type { PipelineRuntime } from './runtime.ts';
import { settleBadRecords } from './bad-records.ts';
import { FileRejectedError } from './errors.ts';
import { batchWorkDir } from './work-dir.ts';
import { readRaw } from './file-reader.ts';
import { checkFileSelect, fileSelect, planFile, type FilePlan } from './stage-select.ts';

/** Every file of a batch read, checked against the stage's columns, and planned (or rejected). */
export interface Prepared {
  plans: Map<string, FilePlan>;
  columns: Column[];
  firstSight: boolean;
  rejected: Map<string, FileRejectedError>;
  readMs: Map<string, number>;
}

/**
 * Validates the files a batch stages, one at a time in arrival order, against the stage's columns
 * (which a file may extend under schemaDrift: evolve). Each file comes with the bytes its caller
 * read through the landing store — and hashed — so a landed file is read once: DuckDB reads the
 * landing file itself when the store is on a local disk, or a copy of the same bytes in the
 * batch's work folder when it is not.
 */
export class BatchPreparer {
  private readonly plans = new Map<string, FilePlan>();
  private readonly rejected = new Map<string, FileRejectedError>();
  private readonly readMs = new Map<string, number>();
  private lastColumns: Column[] | undefined;
  private count = 0;

  private constructor(
    private readonly rt: PipelineRuntime,
    private readonly seq: number,
    private readonly columns: Column[],
    private readonly firstSight: boolean,
  ) {}

  static async start(rt: PipelineRuntime, seq: number): Promise<BatchPreparer> {
    const existing = await rt.tables.stageColumns();
    const preparer = new BatchPreparer(rt, seq, (existing ?? []).filter((c) => c.name !== RESCUED), existing === undefined);
    preparer.lastColumns = lastRawColumns.get(rt);
    return preparer;
  }

  async add(key: string, bytes: Uint8Array): Promise<void> {
    const { rt, seq, columns } = this;
    const started = Date.now();
    const i = this.count++;
    const work = batchWorkDir(rt.pipeline.stateDir, seq);
    try {
      const path = rt.landing.localPath(key) ?? (await localCopy(work, `landed-${i}`, bytes));
      const raw = await readRaw(rt.compute, rt.pipeline, { bytes, path }, work, String(i), this.lastColumns);
      // A file without records has no real types (header-only CSV: all VARCHAR); its neighbours are not read with them.
      if (raw.sql && raw.records > 0) {
        this.lastColumns = raw.columns;
        lastRawColumns.set(rt, raw.columns);
      }
      const trial = [...columns];
      const plan = planFile(rt.pipeline, key, raw, trial, this.firstSight && columns.length === 0);
      const check = raw.sql ? await checkFileSelect(rt.compute, fileSelect(rt.pipeline, plan, trial, { batch: seq, ingestedAt: 0 }, { flagBad: true })) : undefined;
      await settleBadRecords(rt.compute, rt.pipeline, plan, trial, check?.bad ?? 0);
      columns.splice(0, columns.length, ...trial);
      this.plans.set(key, plan);
    } catch (err) {
      if (!(err instanceof FileRejectedError)) throw err;
      this.rejected.set(key, err);
    }
    this.readMs.set(key, Date.now() - started);
  }

  result(): Prepared {
    return { plans: this.plans, columns: this.columns, firstSight: this.firstSight, rejected: this.rejected, readMs: this.readMs };
  }
}

/**
 * The raw columns of the last file with records a pipeline read, kept across its batches: a file
 * landing alone in its batch (one file per batch, the latency case) is then read with its
 * predecessor's types too, instead of sniffing the whole file again (the sniffer reads every
 * record: sample_size = -1). A file that does not fit them is sniffed as before (readKnownCsv).
 */
const lastRawColumns = new WeakMap<PipelineRuntime, { name: string; type: string }[]>();

/**
 * A redo: reads the planned files again through the landing store, each once, and prepares those
 * that still hold the planned bytes. `onChanged` is told of a file that is gone or changed (and
 * may throw); the file is then left out.
 */
export async function prepareFromLanding(
  rt: PipelineRuntime,
  seq: number,
  files: { key: string; sha256: string }[],
  sha256: (data: Uint8Array) => string,
  onChanged: (key: string, now: { sha256: string } | undefined) => Promise<void>,
): Promise<Prepared> {
  const preparer = await BatchPreparer.start(rt, seq);
  for (const f of files) {
    const data = await rt.landing.get(f.key).catch(() => undefined);
    const sum = data ? sha256(data) : undefined;
    if (!data || sum !== f.sha256) {
      await onChanged(f.key, sum ? { sha256: sum } : undefined);
      continue;
    }
    await preparer.add(f.key, data);
  }
  return preparer.result();
}

/** A remote landing object's bytes as a local file DuckDB can read (in the batch's work folder). */
async function localCopy(workDir: string, name: string, bytes: Uint8Array): Promise<string> {
  const work = new LocalObjectStore(workDir);
  await work.put(name, bytes);
  return work.localPath(name)!;
}
