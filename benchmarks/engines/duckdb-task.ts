// DuckDB native as a benchmark engine (the floor): the same work on an in-memory table, with
// DuckDB's own MERGE INTO / INSERT and no Delta log, in a process of its own.
//
//   node --import tsx benchmarks/engines/duckdb-task.ts <task.json> <result.json>
//
// DuckDB is opened with the same settings lakelet uses (memory limit, spill directory, no extension
// downloads). For a MERGE the target is loaded into memory before the timer starts; the timer
// covers the MERGE statement only (reading the source Parquet file included). Peak RSS includes
// the in-memory target.
import { readdirSync, renameSync, statSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Compute } from '../../src/adapters/compute/compute.ts';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
import { sqlIdent, sqlString } from '../../src/adapters/compute/sql.ts';
import type { MergeKind, Task, TaskResult } from '../lib/tasks.ts';
import { timeProcess } from '../lib/whole-process.ts';

function cpuMs(): number {
  const u = process.resourceUsage();
  return (u.userCPUTime + u.systemCPUTime) / 1000;
}

const list = (paths: string[]) => `[${paths.map(sqlString).join(', ')}]`;

function mergeSql(target: string, source: string, key: string, kind: MergeKind, columns: string[]): string {
  const set = columns.map((c) => `${sqlIdent(c)} = s.${sqlIdent(c)}`).join(', ');
  const insert = `INSERT (${columns.map(sqlIdent).join(', ')}) VALUES (${columns.map((c) => `s.${sqlIdent(c)}`).join(', ')})`;
  const head = `MERGE INTO ${target} AS t USING (${source}) AS s ON t.${sqlIdent(key)} = s.${sqlIdent(key)} `;
  switch (kind) {
    case 'upsert':
      return head + `WHEN MATCHED THEN UPDATE SET ${set} WHEN NOT MATCHED THEN ${insert}`;
    case 'upsert-delete':
      return head + `WHEN MATCHED AND s.op = 'D' THEN DELETE WHEN MATCHED THEN UPDATE SET ${set} WHEN NOT MATCHED AND s.op <> 'D' THEN ${insert}`;
    case 'upsert-if-newer':
      return head + `WHEN MATCHED AND s.last_modified > t.last_modified THEN UPDATE SET ${set} WHEN NOT MATCHED THEN ${insert}`;
  }
}

interface Prepared {
  measure: () => Promise<Partial<TaskResult>>;
}

async function prepare(compute: Compute, task: Task): Promise<Prepared> {
  switch (task.op) {
    case 'process':
      // The DuckDB CLI as a whole process; its wall and CPU time replace this harness process's.
      return { measure: async () => ({ ...timeProcess(task.argv) }) };
    case 'load': {
      const rows = Number((await compute.query<{ n: string }>(`SELECT sum(num_rows) AS n FROM parquet_file_metadata(${list(task.sources)})`))[0].n);
      return {
        measure: async () => {
          await compute.run(`CREATE TABLE target AS SELECT * FROM read_parquet(${list(task.sources)})`);
          return { rows };
        },
      };
    }
    case 'merge': {
      if (!task.targetSources) throw new Error('the DuckDB merge task needs targetSources to load the in-memory target');
      await compute.run(`CREATE TABLE target AS SELECT * FROM read_parquet(${list(task.targetSources)})`);
      const sourceRows = Number((await compute.query<{ n: string }>(`SELECT count(*) AS n FROM read_parquet(${sqlString(task.source)})`))[0].n);
      return {
        measure: async () => {
          const out = await compute.query<Record<string, string>>(mergeSql('target', `SELECT * FROM read_parquet(${sqlString(task.source)})`, task.key, task.kind, task.columns));
          const changed = out.length ? Number(Object.values(out[0])[0]) : undefined;
          return { rows: sourceRows, metrics: { rowsChanged: changed } };
        },
      };
    }
    case 'optimize': {
      if (!task.files || !task.output) throw new Error('the DuckDB optimize task needs the files to compact and an output path');
      const files = task.files;
      const output = task.output;
      return {
        measure: async () => {
          await compute.run(`COPY (SELECT * FROM read_parquet(${list(files)})) TO ${sqlString(output)} (FORMAT parquet, COMPRESSION zstd)`);
          return { files: 1, metrics: { inputFiles: files.length, outputBytes: statSync(output).size } };
        },
      };
    }
    case 'pipeline':
      return { measure: () => pipeline(compute, task) };
    case 'snapshot':
    case 'append':
      throw new Error(`DuckDB native has no Delta ${task.op} (no delta extension offline)`);
  }
}

/** The pipeline's steps by hand: stage (in memory), move files to the archive, dedup, MERGE. */
async function pipeline(compute: Compute, task: Extract<Task, { op: 'pipeline' }>): Promise<Partial<TaskResult>> {
  const names = readdirSync(task.landing)
    .filter((n) => n.endsWith('.csv') && !n.startsWith('.'))
    .map((n) => ({ n, t: statSync(join(task.landing, n)).mtimeMs }))
    .sort((a, b) => a.t - b.t || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0))
    .map((x) => x.n);
  // The floor declares the schema: DuckDB's CSV sniffer costs ~0.1–0.2 s per file with several timestamp columns.
  const columns = `{${task.columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.duckdb)}`).join(', ')}}`;
  const business = task.columns.map((c) => sqlIdent(c.name)).join(', ');
  const key = sqlIdent(task.key);
  const order = sqlIdent(task.orderBy);
  let rows = 0;
  let batches = 0;
  let inserted = 0;
  const batchMs: number[] = [];
  for (let i = 0; i < names.length; i += task.maxFiles) {
    const b0 = performance.now();
    const batch = names.slice(i, i + task.maxFiles);
    batches++;
    const read = `SELECT ${business}, CAST(${batches} AS BIGINT) AS _batch, parse_filename(filename) AS _source_file FROM read_csv(${list(batch.map((n) => join(task.landing, n)))}, header = true, auto_detect = false, columns = ${columns}, filename = true)`;
    if (batches === 1) await compute.run(`CREATE TABLE stage AS ${read}`);
    else await compute.run(`INSERT INTO stage ${read}`);
    const folder = join(task.archive, `batch-${String(batches).padStart(6, '0')}`);
    mkdirSync(folder, { recursive: true });
    for (const n of batch) renameSync(join(task.landing, n), join(folder, n));
    const source = `SELECT ${business} FROM stage WHERE _batch = ${batches} QUALIFY row_number() OVER (PARTITION BY ${key} ORDER BY ${order} DESC) = 1`;
    if (batches === 1) {
      await compute.run(`CREATE TABLE target AS ${source}`);
    } else {
      const cols = task.columns.map((c) => c.name);
      const set = cols.map((c) => `${sqlIdent(c)} = s.${sqlIdent(c)}`).join(', ');
      await compute.run(
        `MERGE INTO target AS t USING (${source}) AS s ON t.${key} = s.${key} WHEN MATCHED AND s.${order} >= t.${order} THEN UPDATE SET ${set} ` +
          `WHEN NOT MATCHED THEN INSERT (${cols.map(sqlIdent).join(', ')}) VALUES (${cols.map((c) => `s.${sqlIdent(c)}`).join(', ')})`,
      );
    }
    batchMs.push(performance.now() - b0);
    const n = await compute.query<{ n: string }>(`SELECT count(*) AS n FROM stage WHERE _batch = ${batches}`);
    rows += Number(n[0].n);
  }
  const total = await compute.query<{ n: string }>('SELECT count(*) AS n FROM target');
  inserted = Number(total[0].n);
  return { rows, metrics: { batches, targetRows: inserted, ...(task.latency ? { batchMs } : {}) } };
}

async function main(): Promise<void> {
  const [taskFile, resultFile] = process.argv.slice(2);
  if (!taskFile || !resultFile) {
    process.stderr.write('usage: duckdb-task.ts <task.json> <result.json>\n');
    process.exit(2);
  }
  const task = JSON.parse(readFileSync(taskFile, 'utf8')) as Task;
  const compute = await openCompute();
  try {
    const prepared = await prepare(compute, task);
    const rssAtStartBytes = process.memoryUsage().rss;
    const cpu0 = cpuMs();
    const t0 = performance.now();
    const out = await prepared.measure();
    const wallMs = performance.now() - t0;
    const result: TaskResult = { ok: true, wallMs, cpuMs: cpuMs() - cpu0, peakRssBytes: process.resourceUsage().maxRSS * 1024, rssAtStartBytes, ...out };
    writeFileSync(resultFile, JSON.stringify(result));
  } finally {
    compute.close();
  }
}

await main();
