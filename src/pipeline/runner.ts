import picomatch from 'picomatch';
import { Compute } from '../adapters/compute/duckdb.ts';
import type { ObjectMeta } from '../adapters/storage/object-store.ts';
import { openStore } from '../adapters/storage/open-store.ts';
import { randomIds, systemClock, type Clock, type IdSource } from '../engine/clock.ts';
import { DeltaTable } from '../engine/table.ts';
import { InputError } from '../engine/errors.ts';
import { completeBatch, planBatch, type BatchOutcome, type PipelineRuntime } from './batch.ts';
import { BatchState } from './batch-state.ts';
import type { LakeletConfig, PipelineConfig } from './config.ts';
import { IngestionLog } from './ingestion-log.ts';
import { silentReporter, type Reporter } from './reporter.ts';
import { applyTableProperties } from './table-properties.ts';

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

export interface PipelineSummary {
  pipeline: string;
  batches: number;
  recovered: number;
  files: number;
  staged: number;
  quarantined: number;
  duplicates: number;
  rowsStaged: number;
  rowsInserted: number;
  rowsUpdated: number;
  rowsDeleted: number;
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

  private constructor(
    readonly config: LakeletConfig,
    private readonly compute: Compute,
    private readonly ownsCompute: boolean,
    private readonly log: IngestionLog,
    readonly reporter: Reporter,
  ) {}

  static async open(config: LakeletConfig, options: RunnerOptions = {}): Promise<PipelineRunner> {
    const compute = options.compute ?? (await Compute.open());
    const clock = options.clock ?? systemClock;
    const ids = options.ids ?? randomIds;
    const reporter = options.reporter ?? silentReporter;
    const log = await IngestionLog.open(config.ingestionLog, compute, clock);
    const runner = new PipelineRunner(config, compute, !options.compute, log, reporter);
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
          stage: await DeltaTable.forPath(p.stage, { compute, clock, ids }),
          ...(p.target ? { target: await DeltaTable.forPath(p.target, { compute, clock, ids }) } : {}),
          log,
          reporter,
        });
        await applyTableProperties(runner.runtimes.get(p.name)!);
      }
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

  /** Landed files of a pipeline, oldest first, in batches as the runner would take them. */
  async pendingBatches(name: string): Promise<ObjectMeta[][]> {
    const rt = this.runtime(name);
    return chunk(await this.landedFiles(rt), rt.pipeline.batch);
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
   * are serialized: one batch at a time per runner.
   */
  runPipeline(name: string, files?: ObjectMeta[]): Promise<PipelineSummary> {
    const next = this.queue.then(() => this.runPipelineNow(name, files));
    this.queue = next.catch(() => {});
    return next;
  }

  private async runPipelineNow(name: string, files?: ObjectMeta[]): Promise<PipelineSummary> {
    const rt = this.runtimes.get(name);
    if (!rt) throw new InputError(`pipeline '${name}' is not run by this runner`);
    const started = Date.now();
    const outcomes: BatchOutcome[] = [];
    for (const manifest of rt.state.unfinished()) outcomes.push(await completeBatch(rt, manifest, undefined));
    const landed = await this.landedFiles(rt, files);
    for (const batch of chunk(landed, rt.pipeline.batch)) {
      const planned = await planBatch(rt, batch);
      if (!planned) continue;
      outcomes.push(await completeBatch(rt, planned.manifest, planned.prepared));
    }
    return {
      pipeline: name,
      batches: outcomes.length,
      recovered: outcomes.filter((o) => o.recovered).length,
      files: sum(outcomes, 'files'),
      staged: sum(outcomes, 'staged'),
      quarantined: sum(outcomes, 'quarantined'),
      duplicates: sum(outcomes, 'duplicates'),
      rowsStaged: sum(outcomes, 'rowsStaged'),
      rowsInserted: sum(outcomes, 'rowsInserted'),
      rowsUpdated: sum(outcomes, 'rowsUpdated'),
      rowsDeleted: sum(outcomes, 'rowsDeleted'),
      rowsRejected: sum(outcomes, 'rowsRejected'),
      ms: Date.now() - started,
    };
  }

  /** Landed files matching the pattern, oldest first (mtime, then name). */
  private async landedFiles(rt: PipelineRuntime, only?: ObjectMeta[]): Promise<ObjectMeta[]> {
    const match = picomatch(rt.pipeline.pattern, { dot: false });
    let files: ObjectMeta[];
    if (only) {
      files = [];
      for (const f of only) {
        const head = await rt.landing.head(f.key);
        if (head) files.push(head);
      }
    } else {
      files = await rt.landing.list('');
    }
    return files.filter((f) => match(f.key) && !f.key.split('/').some((s) => s.startsWith('.'))).sort(arrivalOrder);
  }

  async close(): Promise<void> {
    await this.queue.catch(() => {});
    for (const unlock of this.unlocks.splice(0)) await unlock().catch(() => {});
    for (const rt of this.runtimes.values()) {
      rt.stage.close();
      rt.target?.close();
    }
    this.log.close();
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
  const keys = ['batches', 'recovered', 'files', 'staged', 'quarantined', 'duplicates', 'rowsStaged', 'rowsInserted', 'rowsUpdated', 'rowsDeleted', 'rowsRejected', 'ms'] as const;
  const totals = Object.fromEntries(keys.map((k) => [k, pipelines.reduce((a, p) => a + p[k], 0)])) as RunSummary['totals'];
  return { pipelines, totals };
}
