// lakelet as a benchmark engine: one measured operation per process.
//
//   node --import tsx benchmarks/engines/lakelet-task.ts <task.json> <result.json>
//
// The timer starts before the table is opened (so DuckDB's start-up inside lakelet counts, as the
// peers' table loading does) and stops when the operation has committed; closing comes after it
// (see closers). Peak RSS is this process's maxRSS: Node, tsx and DuckDB included.
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDbCompute } from '../../src/adapters/compute/duckdb/duckdb-compute.ts';
import { sqlString } from '../../src/adapters/compute/sql.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import type { MergeBuilder } from '../../src/engine/ops/merge.ts';
import { loadConfig } from '../../src/pipeline/config.ts';
import { PipelineRunner } from '../../src/pipeline/runner.ts';
import { silentReporter } from '../../src/pipeline/reporter.ts';
import type { MergeKind, Task, TaskResult } from '../lib/tasks.ts';
import { timeProcess } from '../lib/whole-process.ts';

function cpuMs(): number {
  const u = process.resourceUsage();
  return (u.userCPUTime + u.systemCPUTime) / 1000;
}

function withClauses(b: MergeBuilder, kind: MergeKind): MergeBuilder {
  switch (kind) {
    case 'upsert':
      return b.whenMatchedUpdateAll().whenNotMatchedInsertAll();
    case 'upsert-delete':
      return b.whenMatchedDelete("s.op = 'D'").whenMatchedUpdateAll().whenNotMatchedInsertAll("s.op <> 'D'");
    case 'upsert-if-newer':
      return b.whenMatchedUpdateAll('s.last_modified > t.last_modified').whenNotMatchedInsertAll();
  }
}

/** Opening a table (a DuckDB instance per table, as the CLI does): timed apart as a phase. */
const phases: Record<string, number> = {};
async function open(path: string): Promise<DeltaTable> {
  const t0 = performance.now();
  const table = await DeltaTable.forPath(path);
  phases.openMs = performance.now() - t0;
  closers.push(() => table.close());
  return table;
}

/**
 * What the task opened, closed once the timer has stopped: closing DuckDB (its threads joined)
 * is teardown, which the peers' timers leave out too (the floor closes its instance after the
 * timer, delta-rs has nothing to close). It took ~7 ms of a small merge's timed run.
 */
const closers: (() => unknown)[] = [];

async function run(task: Task): Promise<Partial<TaskResult>> {
  switch (task.op) {
    case 'process': {
      // The measured command's own wall and CPU time replace this harness process's.
      const timing = timeProcess(task.argv);
      const metrics: Record<string, number> = {};
      for (const [name, argv] of Object.entries(task.extra ?? {})) metrics[`${name}Ms`] = timeProcess(argv).wallMs;
      return { ...timing, metrics };
    }
    case 'load': {
      const table = await open(task.table);
      let w = table.write({ sql: `SELECT * FROM read_parquet([${task.sources.map(sqlString).join(', ')}])` }).mode('error-if-exists');
      if (task.targetFileSize) w = w.targetFileSize(task.targetFileSize);
      const r = await w.execute();
      return { rows: r.metrics.numOutputRows, files: r.snapshot.files.length, version: r.version, metrics: { ...r.metrics } };
    }
    case 'append': {
      const table = await open(task.table);
      let version = -1;
      for (const f of task.sources) version = (await table.write({ file: f }).execute()).version;
      return { version, files: (await table.snapshot()).files.length };
    }
    case 'merge': {
      const table = await open(task.table);
      const r = await withClauses(table.merge({ file: task.source }, { on: [task.key] }), task.kind).execute();
      return { rows: r.metrics.numSourceRows, files: r.snapshot.files.length, version: r.version, metrics: { ...r.metrics } };
    }
    case 'optimize': {
      const table = await open(task.table);
      const r = await table.optimize().targetSize(task.targetSize).execute();
      return { files: r.snapshot.files.length, version: r.version, metrics: { ...r.metrics } };
    }
    case 'snapshot': {
      const table = await open(task.table);
      const s = await table.snapshot(task.version !== undefined ? { version: task.version } : {});
      return { files: s.files.length, version: s.version };
    }
    case 'pipeline': {
      if (!task.config) throw new Error('the lakelet pipeline task needs a lakelet.yml (config)');
      // Latency mode: the files wait in `pending/` and land one by one, each after the previous
      // one reached the target; the time per file is from its landing to the runner's return.
      const pending = `${task.landing}.pending`;
      const arrivals = task.latency ? holdBack(task.landing, pending) : [];
      const runner = await PipelineRunner.open(loadConfig(task.config, { profile: 'local' }), { reporter: silentReporter });
      closers.push(() => runner.close());
      const batchMs: number[] = [];
      let summary = task.latency ? undefined : await runner.runAll();
      let rows = 0;
      let inserted = 0;
      let updated = 0;
      for (const name of arrivals) {
        renameSync(join(pending, name), join(task.landing, name));
        const b0 = performance.now();
        summary = await runner.runAll();
        batchMs.push(performance.now() - b0);
        rows += summary.totals.rowsStaged;
        inserted += summary.totals.rowsInserted;
        updated += summary.totals.rowsUpdated;
      }
      const t = summary!.totals;
      if (task.latency) return { rows, metrics: { batches: batchMs.length, files: batchMs.length, inserted, updated, batchMs } };
      return { rows: t.rowsStaged, metrics: { batches: t.batches, files: t.files, inserted: t.rowsInserted, updated: t.rowsUpdated, deleted: t.rowsDeleted, quarantined: t.quarantined } };
    }
  }
}

async function main(): Promise<void> {
  const [taskFile, resultFile] = process.argv.slice(2);
  if (!taskFile || !resultFile) {
    process.stderr.write('usage: lakelet-task.ts <task.json> <result.json>\n');
    process.exit(2);
  }
  const task = JSON.parse(readFileSync(taskFile, 'utf8')) as Task;
  // DuckDB's client is loaded before the timer, as the peers' libraries are: lakelet loads it on
  // the first SQL (so the CLI's --help never does), which would otherwise count as the operation's time.
  await DuckDbCompute.load();
  const rssAtStartBytes = process.memoryUsage().rss;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  // With LAKELET_TRACE_SQL, the timer's start and stop on the same clock as each statement's.
  if (process.env.LAKELET_TRACE_SQL) process.stderr.write(`[timer start @${t0.toFixed(0)}]\n`);
  let out: Partial<TaskResult>;
  let wallMs: number;
  let cpu: number;
  try {
    out = await run(task);
    wallMs = performance.now() - t0;
    if (process.env.LAKELET_TRACE_SQL) process.stderr.write(`[timer stop @${(t0 + wallMs).toFixed(0)}]\n`);
    cpu = cpuMs() - cpu0;
  } finally {
    for (const close of closers.splice(0)) await close();
  }
  const result: TaskResult = {
    ok: true,
    wallMs,
    cpuMs: cpu,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    rssAtStartBytes,
    phases,
    ...out,
  };
  writeFileSync(resultFile, JSON.stringify(result));
}

await main();

/** Moves every landed CSV aside, returning the names in arrival order (mtime, then name). */
function holdBack(landing: string, pending: string): string[] {
  mkdirSync(pending, { recursive: true });
  const names = readdirSync(landing)
    .filter((n) => n.endsWith('.csv') && !n.startsWith('.'))
    .map((n) => ({ n, t: statSync(join(landing, n)).mtimeMs }))
    .sort((a, b) => a.t - b.t || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0))
    .map((x) => x.n);
  for (const n of names) renameSync(join(landing, n), join(pending, n));
  return names;
}
