import type { Compute } from '../adapters/compute/compute.ts';
import { openCompute } from '../adapters/compute/open-compute.ts';
import type { ObjectMeta } from '../adapters/storage/object-store.ts';
import { openStore } from '../adapters/storage/open-store.ts';
import { randomIds, systemClock, type Clock, type IdSource } from '../adapters/clock.ts';
import { openWarehouse } from '../warehouse/open-warehouse.ts';
import type { IngestionLogTable, Warehouse } from '../warehouse/warehouse.ts';
import { InputError } from '../errors/lakelet-error.ts';
import { checkArrival, dataFileFilter, sortLanding, unmatchedHint, type LandingListing } from './arrival.ts';
import type { BatchOutcome } from './batch.ts';
import { planBatch } from './batch-plan.ts';
import { completeBatch } from './batch-steps.ts';
import type { PipelineRuntime } from './runtime.ts';
import { BatchState } from './batch-state.ts';
import { applyStageRetention } from './stage-retention.ts';
import type { LakeletConfig, PipelineConfig } from './config.ts';
import { silentReporter, type Reporter } from './reporter.ts';
import { applyTableProperties } from './table-properties.ts';
import { removeLogLeftovers, removeWriteLeftovers } from './write-leftovers.ts';

/**
 * Runs the pipelines of a config: takes each pipeline's lock, finishes batches a crash left
 * unfinished, then turns landed files (in arrival order: mtime, then name) into batches of at most
 * maxFiles / maxBytes and runs each to the end. `lakelet run --once` calls `runAll` once;
 * `lakelet watch` calls `runPipeline` with the files its trigger reports as fully written.
 */
export interface RunnerOptions {
  clock?: Clock;
  ids?: IdSource;
  reporter?: Reporter;
  /** Run only these pipelines (default: all). */
  only?: string[];
  compute?: Compute;
}

/**
 * What a run did. File counts form a funnel, with the same words as `lakelet status`:
 * files = staged + quarantined + duplicates; `staged` files had their rows appended to the stage
 * table, and `merged` ones (a subset: pipelines with a target) were then merged into the target.
 * Row counts: rowsStaged appended to the stage table; rowsDeduplicated collapsed by the MERGE's
 * one-row-per-key rule; rowsInserted/Updated in the target; rowsDeleted from the target by delete
 * markers; rowsRejected not loaded (a NULL key, or a bad record).
 */
export interface PipelineSummary {
  pipeline: string;
  batches: number;
  recovered: number;
  files: number;
  staged: number;
  merged: number;
  quarantined: number;
  duplicates: number;
  /** Files left in landing for a later run (still being written, incomplete, no marker yet). */
  waiting: number;
  rowsStaged: number;
  rowsInserted: number;
  rowsUpdated: number;
  rowsDeleted: number;
  rowsDeduplicated: number;
  rowsRejected: number;
  ms: number;
}

export interface RunSummary {
  pipelines: PipelineSummary[];
  totals: Omit<PipelineSummary, 'pipeline'>;
}

export class PipelineRunner {
  private runtimes = new Map<string, PipelineRuntime>();
  private unlocks: (() => Promise<void>)[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private waitingSaid = new Map<string, Map<string, string>>();
  /** Landing problems told already (pipeline + file, or pipeline alone): a watcher lists the landing on every trigger. */
  private landingSaid = new Set<string>();
  private stopping = false;

  private constructor(
    readonly config: LakeletConfig,
    private readonly compute: Compute,
    private readonly ownsCompute: boolean,
    private readonly warehouse: Warehouse,
    private readonly log: IngestionLogTable,
    readonly reporter: Reporter,
  ) {}

  static async open(config: LakeletConfig, options: RunnerOptions = {}): Promise<PipelineRunner> {
    const compute = options.compute ?? (await openCompute());
    const clock = options.clock ?? systemClock;
    const ids = options.ids ?? randomIds;
    const reporter = options.reporter ?? silentReporter;
    // A commit that landed but whose checkpoint did not: the batch goes on, the log says so.
    const onWarning = (message: string) => reporter.event('warn', 'table.checkpoint-not-written', { message });
    const warehouse = openWarehouse(config, { compute, clock, ids, onWarning });
    const log = await warehouse.ingestionLog(config.ingestionLog);
    const runner = new PipelineRunner(config, compute, !options.compute, warehouse, log, reporter);
    try {
      const selected = options.only?.length ? config.pipelines.filter((p) => options.only!.includes(p.name)) : config.pipelines;
      const unknown = (options.only ?? []).filter((n) => !config.pipelines.some((p) => p.name === n));
      if (unknown.length) throw new InputError(`no pipeline named ${unknown.join(', ')} in ${config.file} (it has ${config.pipelines.map((p) => p.name).join(', ')})`);
      const states = new Map(config.pipelines.map((p) => [p.name, new BatchState(p.name, p.stateDir)]));
      for (const state of states.values()) await state.load();
      for (const p of selected) {
        const state = states.get(p.name)!;
        runner.unlocks.push(await state.lock());
        runner.runtimes.set(p.name, {
          pipeline: p,
          compute,
          clock,
          ids,
          state,
          siblings: p.siblings.map((s) => states.get(s)!),
          landing: openStore(p.landing),
          archive: openStore(p.archive),
          quarantine: openStore(p.quarantine),
          tables: await warehouse.pipelineTables({
            name: p.name,
            stage: p.stage,
            ...(p.target ? { target: p.target } : {}),
            stageProperties: p.stageProperties,
            targetProperties: p.targetProperties,
            stateDir: p.stateDir,
            tombstones: p.deletes !== undefined && p.orderBy !== undefined,
          }),
          log,
          reporter,
        });
        await removeWriteLeftovers(runner.runtimes.get(p.name)!);
        await applyTableProperties(runner.runtimes.get(p.name)!);
      }
      await removeLogLeftovers(log, reporter);
    } catch (err) {
      await runner.close();
      throw err;
    }
    return runner;
  }

  /** The pieces one pipeline runs with (for notebooks that walk through the steps one by one). */
  runtime(name: string): PipelineRuntime {
    const rt = this.runtimes.get(name);
    if (!rt) throw new InputError(`pipeline '${name}' is not run by this runner (it has ${[...this.runtimes.keys()].join(', ')})`);
    return rt;
  }

  /** Landed files of a pipeline that are complete, oldest first, in batches as the runner would take them. */
  async pendingBatches(name: string): Promise<ObjectMeta[][]> {
    const rt = this.runtime(name);
    const arrival = await checkArrival(rt.landing, rt.pipeline, await this.landedFiles(rt));
    return chunk(arrival.ready, rt.pipeline.batch);
  }

  /**
   * Asks the runner to stop: the batch in progress runs to its end, no further batch is planned
   * (the files stay in landing for the next run). For `watch`'s SIGINT/SIGTERM.
   */
  stop(): void {
    this.stopping = true;
  }

  get stopped(): boolean {
    return this.stopping;
  }

  get pipelines(): PipelineConfig[] {
    return [...this.runtimes.values()].map((r) => r.pipeline);
  }

  /** Backfill: recover, then every landed file of every pipeline. */
  async runAll(): Promise<RunSummary> {
    const summaries: PipelineSummary[] = [];
    for (const name of this.runtimes.keys()) summaries.push(await this.runPipeline(name));
    return summarize(summaries);
  }

  /**
   * Recovers, then runs the given landed files (default: all files matching the pattern). Calls
   * are serialized: one batch at a time per runner. `finalized`: the files are objects a finalize
   * event reported (see checkArrival), as the Cloud Function entry passes them.
   */
  runPipeline(name: string, files?: ObjectMeta[], options: { finalized?: boolean } = {}): Promise<PipelineSummary> {
    const next = this.queue.then(() => this.runPipelineNow(name, files, options));
    this.queue = next.catch(() => {});
    return next;
  }

  private async runPipelineNow(name: string, files: ObjectMeta[] | undefined, options: { finalized?: boolean }): Promise<PipelineSummary> {
    const rt = this.runtimes.get(name);
    if (!rt) throw new InputError(`pipeline '${name}' is not run by this runner`);
    const started = Date.now();
    const outcomes: BatchOutcome[] = [];
    for (const manifest of rt.state.unfinished()) {
      if (this.stopping) break;
      outcomes.push(await completeBatch(rt, manifest, undefined));
    }
    const arrival = this.stopping ? { ready: [], waiting: [], abandoned: [] } : await checkArrival(rt.landing, rt.pipeline, await this.landedFiles(rt, files), { finalized: options.finalized === true });
    // Said once per file and reason: a watcher looks at a waiting file again and again.
    const said = this.waitingSaid.get(name) ?? new Map<string, string>();
    this.waitingSaid.set(name, new Map(arrival.waiting.map((w) => [w.key, w.reason])));
    for (const w of arrival.waiting) {
      if (said.get(w.key) !== w.reason) rt.reporter.event(/record|bracket|footer/.test(w.reason) ? 'warn' : 'info', 'file.waiting', { pipeline: name, file: w.key, reason: w.reason });
    }
    const abandoned = new Map(arrival.abandoned.map((a) => [a.file.key, a.reason]));
    const landed = [...arrival.ready, ...arrival.abandoned.map((a) => a.file)].sort(arrivalOrder);
    for (const batch of chunk(landed, rt.pipeline.batch)) {
      if (this.stopping) break;
      const planned = await planBatch(rt, batch, abandoned);
      if (!planned) continue;
      outcomes.push(await completeBatch(rt, planned.manifest, planned.prepared));
    }
    if (outcomes.length > 0) {
      const retained = await applyStageRetention(rt.tables, rt.pipeline, rt.state, rt.clock);
      if (retained && retained.deletedRows > 0) rt.reporter.event('info', 'stage.retention', { pipeline: name, ...retained, retain: rt.pipeline.stageRetain });
    }
    return {
      pipeline: name,
      batches: outcomes.length,
      recovered: outcomes.filter((o) => o.recovered).length,
      files: sum(outcomes, 'files'),
      staged: sum(outcomes, 'staged'),
      // Every staged file of a finished batch was merged when the pipeline has a target.
      merged: rt.tables.hasTarget ? sum(outcomes, 'staged') : 0,
      quarantined: sum(outcomes, 'quarantined'),
      duplicates: sum(outcomes, 'duplicates'),
      waiting: arrival.waiting.length,
      rowsStaged: sum(outcomes, 'rowsStaged'),
      rowsInserted: sum(outcomes, 'rowsInserted'),
      rowsUpdated: sum(outcomes, 'rowsUpdated'),
      rowsDeleted: sum(outcomes, 'rowsDeleted'),
      rowsDeduplicated: sum(outcomes, 'rowsDeduplicated'),
      rowsRejected: sum(outcomes, 'rowsRejected'),
      ms: Date.now() - started,
    };
  }

  /** Landed files matching the pattern, oldest first (mtime, then name). */
  private async landedFiles(rt: PipelineRuntime, only?: ObjectMeta[]): Promise<ObjectMeta[]> {
    if (only) {
      const isData = dataFileFilter(rt.pipeline);
      const files: ObjectMeta[] = [];
      for (const f of only) {
        const head = await rt.landing.head(f.key);
        if (head && isData(head.key)) files.push(head);
      }
      return files.sort(arrivalOrder);
    }
    const listing = sortLanding(rt.pipeline, rt.landing, await rt.landing.list(''));
    this.tellLandingProblems(rt, listing);
    return listing.data.sort(arrivalOrder);
  }

  /**
   * A run that takes nothing should say why when the cause is likely a mistake: a local landing
   * folder that does not exist (a typo in `landing:`), or files the pattern leaves out (`ORDERS.CSV`
   * under `*.csv`). Warnings, each said once per runner (a watcher lists the landing again and
   * again); the files stay where they are.
   */
  private tellLandingProblems(rt: PipelineRuntime, listing: LandingListing): void {
    const name = rt.pipeline.name;
    const once = (id: string) => {
      if (this.landingSaid.has(id)) return false;
      this.landingSaid.add(id);
      return true;
    };
    if (listing.folderMissing && once(name)) {
      rt.reporter.event('warn', 'landing.missing', { pipeline: name, landing: rt.landing.uri, hint: `the landing folder does not exist, so nothing can arrive: check landing: of pipeline ${name} in lakelet.yml, or create the folder` });
    }
    for (const key of listing.unmatched) {
      if (once(`${name}\u0000${key}`)) rt.reporter.event('warn', 'file.unmatched', { pipeline: name, file: key, reason: unmatchedHint(rt.pipeline, key) });
    }
  }

  async close(): Promise<void> {
    await this.queue.catch(() => {});
    for (const unlock of this.unlocks.splice(0)) await unlock().catch(() => {});
    for (const rt of this.runtimes.values()) {
      rt.tables.close();
    }
    this.log.close();
    this.warehouse.close();
    if (this.ownsCompute) this.compute.close();
  }
}


export function arrivalOrder(a: ObjectMeta, b: ObjectMeta): number {
  return a.lastModified - b.lastModified || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Consecutive batches of at most maxFiles files and maxBytes bytes (a larger file goes alone). */
export function chunk(files: ObjectMeta[], limits: { maxFiles: number; maxBytes: number }): ObjectMeta[][] {
  const out: ObjectMeta[][] = [];
  let cur: ObjectMeta[] = [];
  let bytes = 0;
  for (const f of files) {
    if (cur.length > 0 && (cur.length >= limits.maxFiles || bytes + f.size > limits.maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(f);
    bytes += f.size;
  }
  if (cur.length) out.push(cur);
  return out;
}

function sum(outcomes: BatchOutcome[], key: keyof BatchOutcome): number {
  return outcomes.reduce((a, o) => a + Number(o[key] ?? 0), 0);
}

export function summarize(pipelines: PipelineSummary[]): RunSummary {
  const keys = ['batches', 'recovered', 'files', 'staged', 'merged', 'quarantined', 'duplicates', 'waiting', 'rowsStaged', 'rowsInserted', 'rowsUpdated', 'rowsDeleted', 'rowsDeduplicated', 'rowsRejected', 'ms'] as const;
  const totals = Object.fromEntries(keys.map((k) => [k, pipelines.reduce((a, p) => a + p[k], 0)])) as RunSummary['totals'];
  return { pipelines, totals };
}

/** Whether a run left something out: a file quarantined or a record rejected (exit code 3). */
export function incomplete(totals: RunSummary['totals']): boolean {
  return totals.quarantined > 0 || totals.rowsRejected > 0;
}
