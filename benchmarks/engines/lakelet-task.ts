// lakelet as a benchmark engine: one measured operation per process.
//
//   node --import tsx benchmarks/engines/lakelet-task.ts <task.json> <result.json>
//
// The timer starts before the table is opened (so DuckDB's start-up inside lakelet counts, as the
// peers' table loading does) and stops when the operation has committed. Peak RSS is this
// process's maxRSS: Node, tsx and DuckDB included.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { sqlString } from '../../src/adapters/compute/duckdb.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import type { MergeBuilder } from '../../src/engine/ops/merge.ts';
import { loadConfig } from '../../src/pipeline/config.ts';
import { PipelineRunner } from '../../src/pipeline/runner.ts';
import { silentReporter } from '../../src/pipeline/reporter.ts';
import type { MergeKind, Task, TaskResult } from '../lib/tasks.ts';

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
  return table;
}

async function run(task: Task): Promise<Partial<TaskResult>> {
  switch (task.op) {
    case 'load': {
      const table = await open(task.table);
      try {
        let w = table.write({ sql: `SELECT * FROM read_parquet([${task.sources.map(sqlString).join(', ')}])` }).mode('error-if-exists');
        if (task.targetFileSize) w = w.targetFileSize(task.targetFileSize);
        const r = await w.execute();
        return { rows: r.metrics.numOutputRows, files: r.snapshot.files.length, version: r.version, metrics: { ...r.metrics } };
      } finally {
        table.close();
      }
    }
    case 'append': {
      const table = await open(task.table);
      try {
        let version = -1;
        for (const f of task.sources) version = (await table.write({ file: f }).execute()).version;
        return { version, files: (await table.snapshot()).files.length };
      } finally {
        table.close();
      }
    }
    case 'merge': {
      const table = await open(task.table);
      try {
        const r = await withClauses(table.merge({ file: task.source }, { on: [task.key] }), task.kind).execute();
        return { rows: r.metrics.numSourceRows, files: r.snapshot.files.length, version: r.version, metrics: { ...r.metrics } };
      } finally {
        table.close();
      }
    }
    case 'optimize': {
      const table = await open(task.table);
      try {
        const r = await table.optimize().targetSize(task.targetSize).execute();
        return { files: r.snapshot.files.length, version: r.version, metrics: { ...r.metrics } };
      } finally {
        table.close();
      }
    }
    case 'snapshot': {
      const table = await open(task.table);
      try {
        const s = await table.snapshot(task.version !== undefined ? { version: task.version } : {});
        return { files: s.files.length, version: s.version };
      } finally {
        table.close();
      }
    }
    case 'pipeline': {
      if (!task.config) throw new Error('the lakelet pipeline task needs a lakelet.yml (config)');
      const runner = await PipelineRunner.open(loadConfig(task.config), { reporter: silentReporter });
      try {
        const summary = await runner.runAll();
        const t = summary.totals;
        return { rows: t.rowsStaged, metrics: { batches: t.batches, files: t.files, inserted: t.rowsInserted, updated: t.rowsUpdated, deleted: t.rowsDeleted, quarantined: t.quarantined } };
      } finally {
        await runner.close();
      }
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
  const rssAtStartBytes = process.memoryUsage().rss;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  const out = await run(task);
  const wallMs = performance.now() - t0;
  const result: TaskResult = {
    ok: true,
    wallMs,
    cpuMs: cpuMs() - cpu0,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    rssAtStartBytes,
    phases,
    ...out,
  };
  writeFileSync(resultFile, JSON.stringify(result));
}

await main();
