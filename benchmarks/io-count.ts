// npm run bench:io [-- --batches 20 --keep 10 --one-runner]: how much storage I/O one pipeline batch costs.
//
// Runs a real pipeline (accounts-like CSV, one file per batch, MERGE into a target) in a temp
// folder and counts, per batch after the first `--keep` batches (so the tables have a history and
// checkpoints), the ObjectStore calls the run makes (each batch a new `run --once`, or with
// --one-runner one runner for all batches, as `lakelet watch` does): `list` calls, `_delta_log` files read, and all
// `get`s. Counting wraps the local store's methods; nothing else changes.
import { mkdtempSync, rmSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalObjectStore } from '../src/adapters/storage/local/local-object-store.ts';
import { parseConfig } from '../src/pipeline/config.ts';
import { PipelineRunner } from '../src/pipeline/runner.ts';

const { values } = parseArgs({ options: { batches: { type: 'string', default: '20' }, keep: { type: 'string', default: '10' }, 'one-runner': { type: 'boolean', default: false } } });
const oneRunner = values['one-runner'];
const batches = Number(values.batches);
const warm = Number(values.keep);

const counts = { list: 0, logList: 0, logGet: 0, get: 0, head: 0, put: 0 };
const proto = LocalObjectStore.prototype as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
for (const method of ['list', 'get', 'head', 'put', 'putIfAbsent', 'getRange'] as const) {
  const original = proto[method];
  proto[method] = function (this: LocalObjectStore, ...args: unknown[]) {
    const key = String(args[0] ?? '');
    if (method === 'list') {
      counts.list++;
      if (key.startsWith('_delta_log')) counts.logList++;
    } else if (method === 'get' || method === 'getRange') {
      counts.get++;
      if (key.startsWith('_delta_log/')) counts.logGet++;
    } else if (method === 'head') counts.head++;
    else counts.put++;
    return original.apply(this, args);
  };
}

const dir = mkdtempSync(join(tmpdir(), 'lakelet-io-'));
const yaml = `
stateDir: ./state
pipelines:
  accounts:
    landing: ./landing
    pattern: "*.csv"
    format: csv
    stage: ./tables/stage
    target: ./tables/target
    key: id
    orderBy: ts
    deletes: { column: op, values: [D] }
    archive: ./archive
    quarantine: ./quarantine
`;
writeFileSync(join(dir, 'lakelet.yml'), yaml);
mkdirSync(join(dir, 'landing'));
const config = parseConfig(yaml, join(dir, 'lakelet.yml'));
const perBatch: (typeof counts)[] = [];
const shared = oneRunner ? await PipelineRunner.open(config) : undefined;
try {
  for (let b = 1; b <= batches; b++) {
    const rows = ['id,v,ts,op'];
    for (let i = 0; i < 200; i++) rows.push(`${(b * 37 + i * 11) % 1000},v${b}-${i},2024-01-01 00:${String(b % 60).padStart(2, '0')}:00,${i % 50 === 0 ? 'D' : 'U'}`);
    const file = join(dir, 'landing', `batch-${String(b).padStart(4, '0')}.csv`);
    writeFileSync(file, rows.join('\n') + '\n');
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] = 0;
    const runner = shared ?? (await PipelineRunner.open(config));
    try {
      await runner.runAll();
    } finally {
      if (!shared) await runner.close();
    }
    if (b > warm) perBatch.push({ ...counts });
  }
  const avg = (k: keyof typeof counts) => (perBatch.reduce((a, c) => a + c[k], 0) / perBatch.length).toFixed(1);
  console.log(`per batch, ${oneRunner ? 'one runner for all batches' : 'a new runner per batch'} (mean of batches ${warm + 1}..${batches}, one file each, tables with ${warm}+ versions):`);
  console.log(`  list calls ${avg('list')} (of the _delta_log: ${avg('logList')}), _delta_log files read ${avg('logGet')}, all gets ${avg('get')}, heads ${avg('head')}, writes ${avg('put')}`);
} finally {
  await shared?.close();
  rmSync(dir, { recursive: true, force: true });
}
