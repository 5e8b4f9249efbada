import { LocalObjectStore } from '../adapters/storage/local/local-object-store.ts';
import { RESCUED, type Column } from '../warehouse/warehouse.ts';
import type { PipelineRuntime } from './runtime.ts';
import { settleBadRecords } from './bad-records.ts';
import { FileRejectedError } from './errors.ts';
import { batchWorkDir } from './work-dir.ts';
import { checkCsvText, groupable, readCsvGroup, readRaw, type CheckedCsv, type RawInput } from './file-reader.ts';
import { checkFileSelect, checkSelects, fileSelect, planFile, type FilePlan } from './stage-select.ts';
import { batchSelects } from './group-select.ts';
import { checkStorable } from './storable-check.ts';

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
  /** CSV files checked and laid out as lastColumns, waiting to be read together (readGroup). */
  private readonly group: { key: string; path: string; checked: CheckedCsv; i: number; readMs: number }[] = [];
  /** Files read and planned whose check waits for the next flush. */
  private readonly pending: { key: string; plan: FilePlan; columns: Column[]; sql: string }[] = [];

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
    const { rt, seq } = this;
    const started = Date.now();
    const i = this.count++;
    const work = batchWorkDir(rt.pipeline.stateDir, seq);
    try {
      const path = rt.landing.localPath(key) ?? (await localCopy(work, `landed-${i}`, bytes));
      const checked = rt.pipeline.format === 'csv' ? checkCsvText(bytes, rt.pipeline) : undefined;
      // A CSV file laid out as the one before it waits, to be read with its neighbours in one statement.
      if (checked && groupable(checked, rt.pipeline, this.lastColumns)) {
        // Without its text: only ragged records need it, and a groupable file has none (up to
        // MAX_PENDING files wait, so their texts would otherwise stay alive together).
        this.group.push({ key, path, checked: { ...checked, text: '' }, i, readMs: Date.now() - started });
        if (this.group.length >= MAX_PENDING) await this.readGroup();
        return;
      }
      await this.readGroup();
      const raw = await readRaw(rt.compute, rt.pipeline, { bytes, path, key }, work, String(i), this.lastColumns, checked);
      // A file without records has no real types (header-only CSV: all VARCHAR); its neighbours are not read with them.
      if (raw.sql && raw.records > 0) {
        this.lastColumns = raw.columns;
        lastRawColumns.set(rt, raw.columns);
      }
      await this.plan(key, raw);
    } catch (err) {
      if (!(err instanceof FileRejectedError)) throw err;
      this.rejected.set(key, err);
    }
    this.readMs.set(key, Date.now() - started);
  }

  /** Plans a file read: its check runs now when it adds columns, else with its neighbours' (flush). */
  private async plan(key: string, raw: RawInput): Promise<void> {
    const { rt, seq, columns } = this;
    const trial = [...columns];
    const plan = planFile(rt.pipeline, key, raw, trial, this.firstSight && columns.length === 0);
    checkStorable(rt.tables, rt.pipeline.name, plan, trial.slice(columns.length));
    const check = raw.sql ? fileSelect(rt.pipeline, plan, trial, { batch: seq, ingestedAt: 0 }, { flagBad: true }) : undefined;
    if (check !== undefined && trial.length === columns.length) {
      // The file adds no column, so whether it is taken changes nothing for the files after it:
      // its check waits, to run with its neighbours' in one statement (flush).
      this.pending.push({ key, plan, columns: trial, sql: check });
      if (this.pending.length >= MAX_PENDING) await this.flush();
      return;
    }
    await this.flush();
    const counted = check !== undefined ? await checkFileSelect(rt.compute, check) : undefined;
    await settleBadRecords(rt.compute, rt.pipeline, plan, trial, counted?.bad ?? 0);
    columns.splice(0, columns.length, ...trial);
    this.plans.set(key, plan);
  }

  /**
   * Reads the waiting CSV files in one statement and plans them in arrival order; when that read
   * fails (a file does not fit the known columns), each is read on its own as it would have been.
   */
  private async readGroup(): Promise<void> {
    const waiting = this.group.splice(0);
    if (waiting.length === 0) return;
    const { rt, seq } = this;
    const started = Date.now();
    const known = this.lastColumns!;
    const raws = waiting.length > 1 ? await readCsvGroup(rt.compute, rt.pipeline, waiting, known) : undefined;
    const work = batchWorkDir(rt.pipeline.stateDir, seq);
    for (const [n, w] of waiting.entries()) {
      try {
        const raw = raws ? raws[n] : await readRaw(rt.compute, rt.pipeline, { bytes: new Uint8Array(), path: w.path, key: w.key }, work, String(w.i), this.lastColumns, w.checked);
        if (!raws && raw.sql && raw.records > 0) {
          this.lastColumns = raw.columns;
          lastRawColumns.set(rt, raw.columns);
        }
        await this.plan(w.key, raw);
      } catch (err) {
        if (!(err instanceof FileRejectedError)) throw err;
        this.rejected.set(w.key, err);
      }
      this.readMs.set(w.key, w.readMs + Math.round((Date.now() - started) / waiting.length));
    }
  }

  /** Every file added, checked: the plans of those taken, and why the others were rejected. */
  async finish(): Promise<Prepared> {
    await this.readGroup();
    await this.flush();
    return { plans: this.plans, columns: this.columns, firstSight: this.firstSight, rejected: this.rejected, readMs: this.readMs };
  }

  /**
   * Runs the waiting checks in one statement. When it fails (a value that does not cast, under
   * badRecords: fail-file), each file is checked on its own, as if none had waited, so the error
   * lands on the file it belongs to.
   */
  private async flush(): Promise<void> {
    const waiting = this.pending.splice(0);
    if (waiting.length === 0) return;
    const { rt } = this;
    let counts: Map<string, { bad: number }> | undefined;
    let together: unknown;
    if (waiting.length > 1) {
      counts = await this.checkTogether(waiting).catch((err: unknown) => {
        together = err;
        return undefined;
      });
    }
    let rejected = 0;
    for (const w of waiting) {
      try {
        const counted = counts?.get(w.key) ?? (await checkFileSelect(rt.compute, w.sql));
        await settleBadRecords(rt.compute, rt.pipeline, w.plan, w.columns, counted.bad);
        this.plans.set(w.key, w.plan);
      } catch (err) {
        if (!(err instanceof FileRejectedError)) throw err;
        this.rejected.set(w.key, err);
        rejected++;
      }
    }
    // The one statement may fail only because a file is bad; when every file then passed on its
    // own, the combined check itself is wrong (the batch is still right, only slower): say so.
    if (together !== undefined && rejected === 0) {
      rt.reporter.event('warn', 'batch.check-fallback', { pipeline: rt.pipeline.name, batch: this.seq, files: waiting.length, error: String((together as Error)?.message ?? together).split('\n')[0] });
    }
  }

  /**
   * The waiting checks in one statement, the files of one group table as one SELECT
   * (group-select.ts): the counts per file key.
   */
  private async checkTogether(waiting: { key: string; plan: FilePlan; columns: Column[] }[]): Promise<Map<string, { bad: number }>> {
    const parts = batchSelects(this.rt.pipeline, waiting, { batch: this.seq, ingestedAt: 0 }, { flagBad: true });
    const rows = await checkSelects(this.rt.compute, parts.map((p) => ({ sql: p.sql, byFile: p.keys.length > 1 })));
    const counts = new Map<string, { bad: number }>();
    for (const r of rows) counts.set(r.file ?? parts[r.i].keys[0], { bad: r.bad });
    return counts;
  }
}

/** Checks waiting at most: bounds the one statement that runs them. */
const MAX_PENDING = 200;

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
  return preparer.finish();
}

/** A remote landing object's bytes as a local file DuckDB can read (in the batch's work folder). */
async function localCopy(workDir: string, name: string, bytes: Uint8Array): Promise<string> {
  const work = new LocalObjectStore(workDir);
  await work.put(name, bytes);
  return work.localPath(name)!;
}
