// npm run bench:bigquery [-- --files 10 --rows 1000 --target-rows 100000 --batch-rows 20000 --one-runner false --out <dir>]
//
// warehouse: bigquery against the BigQuery emulator (bqemulator; BIGQUERY_EMULATOR_HOST if set,
// else started here from $LAKELET_BQEMULATOR_VENV or .tools/bqemulator-venv). Not a test: it
// measures, and reports per batch the BigQuery jobs and the bytes loaded (BigQueryClient.stats of
// every client the runs opened), which is what a batch costs on real BigQuery too (jobs: latency
// and quota; bytes: load volume). Wall times are the emulator's, on this machine: BigQuery's own
// job latency (seconds per job) is not in them.
//
//   pipeline-latency  CSV files of accounts (seed 000) land one at a time; each goes landing → load
//                     job → staging table → MERGE + ledger → ingestion log alone (PipelineRunner.runAll
//                     per file); per-file latency p50/p95, jobs and bytes per batch.
//   upsert            a target of --target-rows rows (batch 1), then one batch of --batch-rows rows,
//                     half updates of existing keys (newer), half new keys: that batch's wall time,
//                     jobs and bytes.
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bqEmulatorBinaryPath, startBqEmulator } from '../src/dev/bigquery-emulator.ts';
import { parseConfig } from '../src/pipeline/config.ts';
import { PipelineRunner } from '../src/pipeline/runner.ts';
import { BigQueryClient } from '../src/warehouse/bigquery/client.ts';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '10' },
    rows: { type: 'string', default: '1000' },
    'target-rows': { type: 'string', default: '100000' },
    'batch-rows': { type: 'string', default: '20000' },
    'one-runner': { type: 'string', default: 'true' },
    out: { type: 'string' },
  },
});
const files = Number(values.files);
const rowsPerFile = Number(values.rows);
const targetRows = Number(values['target-rows']);
const batchRows = Number(values['batch-rows']);
const oneRunner = values['one-runner'] !== 'false';

// Every client the runs open, so their job and byte counts can be summed per batch.
const clients: BigQueryClient[] = [];
const open = BigQueryClient.open.bind(BigQueryClient);
BigQueryClient.open = (...args: Parameters<typeof BigQueryClient.open>) => {
  const c = open(...args);
  clients.push(c);
  return c;
};
const usage = () => clients.reduce((a, c) => ({ jobs: a.jobs + c.stats.jobs, bytes: a.bytes + c.stats.bytesLoaded }), { jobs: 0, bytes: 0 });

/** The emulator to measure against: BIGQUERY_EMULATOR_HOST, or one started here (stopped at the end). */
async function emulator(): Promise<{ endpoint: string; stop?: () => Promise<void> }> {
  if (process.env.BIGQUERY_EMULATOR_HOST) return { endpoint: process.env.BIGQUERY_EMULATOR_HOST };
  const bin = bqEmulatorBinaryPath();
  if (!existsSync(bin)) throw new Error(`no bqemulator at ${bin}: run bash scripts/setup-peers.sh, or set BIGQUERY_EMULATOR_HOST`);
  return startBqEmulator(bin, 'lakelet-bench');
}

function workspace(dataset: string): { dir: string; config: ReturnType<typeof parseConfig> } {
  const dir = mkdtempSync(join(tmpdir(), 'lakelet-bench-bq-'));
  const yaml = `warehouse: bigquery
bigquery: { project: lakelet-bench, dataset: ${dataset}, location: US }
stateDir: ./state
pipelines:
  accounts:
    landing: ./landing
    pattern: "*.csv"
    format: csv
    stage: { path: ./tables/stage, retain: truncate-after-merge }
    target: ./tables/accounts
    key: id
    orderBy: ts
    archive: ./archive
    quarantine: ./quarantine
    batch: { maxFiles: 1, maxBytes: 1GB }
`;
  writeFileSync(join(dir, 'lakelet.yml'), yaml);
  mkdirSync(join(dir, 'landing'));
  return { dir, config: parseConfig(yaml, join(dir, 'lakelet.yml')) };
}

function land(dir: string, name: string, rows: [number, string, number][]): number {
  const text = ['id,name,balance,ts', ...rows.map(([id, name, ts]) => `${id},${name},${(id % 997) * 1.5},2024-01-01 00:00:${String(ts % 60).padStart(2, '0')}`)].join('\n') + '\n';
  const file = join(dir, 'landing', name);
  writeFileSync(file, text);
  const old = new Date(Date.now() - 60_000); // past arrival.stable
  utimesSync(file, old, old);
  return Buffer.byteLength(text);
}

interface Batch {
  ms: number;
  jobs: number;
  bytesLoaded: number;
  csvBytes: number;
  rows: number;
}

/** Runs one batch (the file just landed) and measures it. */
async function batch(runner: PipelineRunner | undefined, config: ReturnType<typeof parseConfig>, csvBytes: number, rows: number, expect?: { inserted: number; updated: number }): Promise<Batch> {
  const before = usage();
  const started = performance.now();
  const r = runner ?? (await PipelineRunner.open(config));
  try {
    const summary = await r.runAll();
    if (summary.totals.merged !== 1) throw new Error(`expected one merged file, got ${JSON.stringify(summary.totals)}`);
    // The numbers are of a MERGE that did what it should.
    if (expect && (summary.totals.rowsInserted !== expect.inserted || summary.totals.rowsUpdated !== expect.updated)) throw new Error(`expected ${JSON.stringify(expect)}, got ${JSON.stringify(summary.totals)}`);
  } finally {
    if (!runner) await r.close();
  }
  const after = usage();
  return { ms: performance.now() - started, jobs: after.jobs - before.jobs, bytesLoaded: after.bytes - before.bytes, csvBytes, rows };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function pipelineLatency(): Promise<Batch[]> {
  const { dir, config } = workspace(`bench_latency_${Date.now()}`);
  const runner = oneRunner ? await PipelineRunner.open(config) : undefined;
  const out: Batch[] = [];
  try {
    for (let f = 0; f < files; f++) {
      // Half the keys overlap the previous file's (updates), half are new.
      const rows: [number, string, number][] = Array.from({ length: rowsPerFile }, (_, i) => [f * (rowsPerFile / 2) + i, `n${f}-${i}`, f]);
      out.push(await batch(runner, config, land(dir, `f-${String(f).padStart(4, '0')}.csv`, rows), rows.length));
    }
  } finally {
    await runner?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

async function upsert(): Promise<{ initial: Batch; upsert: Batch }> {
  const { dir, config } = workspace(`bench_upsert_${Date.now()}`);
  const runner = oneRunner ? await PipelineRunner.open(config) : undefined;
  try {
    const initialRows: [number, string, number][] = Array.from({ length: targetRows }, (_, i) => [i, `n${i}`, 1]);
    const initial = await batch(runner, config, land(dir, 'a-initial.csv', initialRows), targetRows, { inserted: targetRows, updated: 0 });
    // Half updates (every other key of the target's first part, newer ts), half new keys above the target.
    const half = Math.floor(batchRows / 2);
    const rows: [number, string, number][] = [...Array.from({ length: half }, (_, i) => [i * 2, `u${i}`, 2] as [number, string, number]), ...Array.from({ length: batchRows - half }, (_, i) => [targetRows + i, `i${i}`, 2] as [number, string, number])];
    const up = await batch(runner, config, land(dir, 'b-upsert.csv', rows), rows.length, { inserted: batchRows - half, updated: half });
    return { initial, upsert: up };
  } finally {
    await runner?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const emu = await emulator();
process.env.BIGQUERY_EMULATOR_HOST = emu.endpoint;
try {
  const started = Date.now();
  const latency = await pipelineLatency();
  const up = await upsert();
  const lines = [
    `# warehouse: bigquery on bqemulator (${new Date().toISOString()}, ${oneRunner ? 'one runner for all batches, as lakelet watch' : 'a new runner per batch, as lakelet run --once'})`,
    '',
    '| scenario | batches | rows/batch | wall p50 | wall p95 | BigQuery jobs/batch | bytes loaded/batch | CSV bytes/batch |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    `| pipeline-latency (first batch) | 1 | ${rowsPerFile} | ${latency[0].ms.toFixed(0)} ms | | ${latency[0].jobs} | ${latency[0].bytesLoaded} | ${latency[0].csvBytes} |`,
    `| pipeline-latency (batches 2..${files}) | ${files - 1} | ${rowsPerFile} | ${pct(latency.slice(1).map((b) => b.ms), 50).toFixed(0)} ms | ${pct(latency.slice(1).map((b) => b.ms), 95).toFixed(0)} ms | ${mean(latency.slice(1).map((b) => b.jobs)).toFixed(1)} | ${mean(latency.slice(1).map((b) => b.bytesLoaded)).toFixed(0)} | ${mean(latency.slice(1).map((b) => b.csvBytes)).toFixed(0)} |`,
    `| upsert: initial load | 1 | ${targetRows} | ${up.initial.ms.toFixed(0)} ms | | ${up.initial.jobs} | ${up.initial.bytesLoaded} | ${up.initial.csvBytes} |`,
    `| upsert: ${batchRows} rows (half updates) into ${targetRows} | 1 | ${batchRows} | ${up.upsert.ms.toFixed(0)} ms | | ${up.upsert.jobs} | ${up.upsert.bytesLoaded} | ${up.upsert.csvBytes} |`,
    '',
    `Bytes loaded: the batch's staging Parquet (zstd) the load job takes. Total ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  ];
  console.log(lines.join('\n'));
  if (values.out) {
    mkdirSync(values.out, { recursive: true });
    writeFileSync(join(values.out, 'report.md'), lines.join('\n') + '\n');
    writeFileSync(join(values.out, 'results.json'), JSON.stringify({ options: { files, rowsPerFile, targetRows, batchRows, oneRunner }, latency, upsert: up }, null, 2) + '\n');
  }
} finally {
  await emu.stop?.();
}
