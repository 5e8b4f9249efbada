// npm run bench:gcs [-- --repeat 3 --out <dir> --scale small]: the same table operations on a local
// folder and on gs:// (fake-gcs-server, in-memory backend, on loopback) in one run, with time and
// storage requests per operation (issue 10, point 6):
//
//   snapshot-open   open the latest snapshot of a table of 1,000 commits (checkpoint every 10)
//   upsert          MERGE a 100k-row batch (½ updates on 10% of the files, ½ new keys) into a
//                   1M-row, 40-file table
//
// The tables are the main benchmark's (benchmarks/lib/prepare.ts, scale small): written once
// locally by lakelet, then uploaded object by object to the emulator, so both sides read the same
// log and files. Every measurement is a fresh process (benchmarks/engines/gcs-task.ts) with an
// empty remote-object cache (LAKELET_CACHE_DIR): a cold open, as a new `lakelet` command or a new
// Cloud Function instance has. The upsert runs on a fresh copy of the table each time.
//
// Requests: the child counts its ObjectStore calls (list/get/head/put/delete/copy) on either
// backend; for gs:// a counting proxy between the client and the emulator also counts the HTTP
// requests they became (LIST = object listing pages, GET = media downloads, HEAD = metadata reads,
// PUT = uploads). Loopback has no network latency: a real bucket adds ~10–50 ms per request.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { openCompute } from '../src/adapters/compute/open-compute.ts';
import { createGcsClient } from '../src/adapters/storage/gcs/gcs-client.ts';
import { GcsObjectStore } from '../src/adapters/storage/gcs/gcs-object-store.ts';
import { ensureFakeGcsBinary, startFakeGcsServer } from '../src/dev/fake-gcs.ts';
import { startFaultProxy, type SeenRequest } from '../test/support/fault-proxy.ts';
import { accounts } from '../src/dev/synthetic/index.ts';
import { Preparer } from './lib/prepare.ts';
import { SCALES, type ScaleName } from './lib/scales.ts';
import { median } from './lib/stats.ts';

const { values } = parseArgs({
  options: { repeat: { type: 'string', default: '3' }, out: { type: 'string' }, scale: { type: 'string', default: 'small' }, seed: { type: 'string', default: '42' } },
});
const repeat = Number(values.repeat);
const scale = SCALES[values.scale as ScaleName];
if (!scale) throw new Error(`unknown scale ${values.scale} (one of ${Object.keys(SCALES).join(', ')})`);
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const outDir = resolve(values.out ?? join('benchmarks', 'results', `gcs-${stamp}`));
const log = (line: string) => process.stderr.write(`[bench:gcs] ${line}\n`);
const REPO = resolve(import.meta.dirname, '..');

type Calls = Record<'list' | 'get' | 'head' | 'put' | 'delete' | 'copy', number>;
type Http = Record<'LIST' | 'GET' | 'HEAD' | 'PUT' | 'DELETE' | 'COPY' | 'OTHER', number>;
interface Measurement {
  wallMs: number;
  calls: Calls;
  http?: Http;
  bytesDown?: number;
  version: number;
  files: number;
  [k: string]: unknown;
}

/** What an HTTP request to the JSON API was, by method and path. */
function classify(r: SeenRequest): keyof Http {
  const path = r.url.split('?')[0];
  if (r.method === 'POST' && path.startsWith('/upload/')) return 'PUT';
  if (r.method === 'DELETE') return 'DELETE';
  if (/\/(copyTo|rewriteTo)\//.test(path)) return 'COPY';
  if (r.method === 'GET' && (path.startsWith('/download/') || /[?&]alt=media/.test(r.url))) return 'GET';
  if (r.method === 'GET' && /\/b\/[^/]+\/o$/.test(path)) return 'LIST';
  if (r.method === 'GET' && /\/b\/[^/]+\/o\/.+/.test(path)) return 'HEAD';
  return 'OTHER';
}

function runTask(args: string[], env: NodeJS.ProcessEnv): Promise<Measurement> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'benchmarks', 'engines', 'gcs-task.ts'), ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
    child.on('exit', (code) => (code === 0 ? ok(JSON.parse(out.trim().split('\n').pop()!)) : fail(new Error(`gcs-task ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** Uploads a local table folder as objects under gs://<bucket>/<prefix>/ (straight to the emulator). */
async function upload(store: GcsObjectStore, dir: string): Promise<number> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  let n = 0;
  const queue = files.map((e) => join(e.parentPath, e.name));
  // A few uploads at a time: 2,000+ small objects for the commits table.
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let f = queue.pop(); f !== undefined; f = queue.pop()) {
        // put, not putFile: putFile moves the file into the store, and the template is reused.
        await store.put(relative(dir, f).split(sep).join('/'), readFileSync(f));
        n++;
      }
    }),
  );
  return n;
}

const work = mkdtempSync(join(tmpdir(), 'lakelet-bench-gcs-'));
const binary = ensureFakeGcsBinary(log);
const gcs = await startFakeGcsServer(binary);
const proxy = await startFaultProxy(gcs.endpoint, () => 'pass');
const compute = await openCompute();
const started = Date.now();
// Ctrl-C / kill: the emulator and the work folder go too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void gcs.stop().finally(() => {
      rmSync(work, { recursive: true, force: true });
      process.exit(130);
    });
  });
}
try {
  await gcs.createBucket('bench');
  const direct = createGcsClient({ STORAGE_EMULATOR_HOST: gcs.endpoint });
  const storeAt = (prefix: string) => new GcsObjectStore({ storage: direct.storage, endpoint: direct.endpoint, bucket: 'bench', prefix });
  const prep = new Preparer({ scale, work, compute, seed: Number(values.seed), engines: ['lakelet'], log });
  const commits = await prep.manyCommitsTable(scale.commits, scale.commitRows);
  const target = await prep.targetTemplate('lakelet');
  const source = await prep.batchFile('upsert', { batch: 1, rows: scale.batchRows, updates: Math.round(scale.batchRows / 2), deletes: 0, hotFraction: scale.hotFraction, order: 'sorted' });
  let t0 = Date.now();
  const commitObjects = await upload(storeAt('commits'), commits.dir);
  prep.timings['upload the commits table to the emulator'] = Date.now() - t0;
  log(`uploaded the ${scale.commits}-commit table: ${commitObjects} objects in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const results: Record<string, { local: Measurement[]; gcs: Measurement[] }> = { 'snapshot-open': { local: [], gcs: [] }, upsert: { local: [], gcs: [] } };
  const cold = () => ({ LAKELET_CACHE_DIR: mkdtempSync(join(work, 'cache-')), STORAGE_EMULATOR_HOST: proxy.endpoint });
  async function onGcs(args: string[]): Promise<Measurement> {
    proxy.requests.length = 0;
    const m = await runTask(args, cold());
    const http: Http = { LIST: 0, GET: 0, HEAD: 0, PUT: 0, DELETE: 0, COPY: 0, OTHER: 0 };
    for (const r of proxy.requests) http[classify(r)]++;
    return { ...m, http };
  }
  for (let r = 1; r <= repeat; r++) {
    log(`repeat ${r}/${repeat}: snapshot-open`);
    results['snapshot-open'].local.push(await runTask(['snapshot', commits.dir], cold()));
    results['snapshot-open'].gcs.push(await onGcs(['snapshot', 'gs://bench/commits']));
    log(`repeat ${r}/${repeat}: upsert`);
    const localCopy = join(work, `target-${r}`);
    cpSync(target.dir, localCopy, { recursive: true });
    results.upsert.local.push(await runTask(['merge', localCopy, source, accounts.key], cold()));
    t0 = Date.now();
    await upload(storeAt(`target-${r}`), target.dir);
    prep.timings[`upload the target table (${r})`] = Date.now() - t0;
    results.upsert.gcs.push(await onGcs(['merge', `gs://bench/target-${r}`, source, accounts.key]));
    rmSync(localCopy, { recursive: true, force: true });
  }

  // Report.
  const med = (ms: Measurement[], f: (m: Measurement) => number) => median(ms.map(f));
  const callTotal = (c: Calls) => c.list + c.get + c.head + c.put + c.delete + c.copy;
  const httpTotal = (h: Http) => Object.values(h).reduce((a, n) => a + n, 0);
  const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
  const lines: string[] = [];
  lines.push(`# lakelet on gs:// (fake-gcs-server) vs the local store`, '');
  lines.push(`${new Date(started).toISOString()} · ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 1024 ** 3).toFixed(1)} GiB · Node ${process.version} · scale ${scale.name} · median of ${repeat} cold runs (a new process and an empty object cache each) · total ${((Date.now() - started) / 1000).toFixed(0)} s · load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' / ')}`, '');
  lines.push('| operation | store | time (median) | min–max | store calls: list / get / head / put / delete | HTTP requests: LIST / GET (media) / HEAD (metadata) / PUT / other | gs:// ÷ local (time) |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- |');
  const titles: Record<string, string> = { 'snapshot-open': `Open the latest snapshot (${scale.commits.toLocaleString('en-US')} commits)`, upsert: `Upsert ${scale.batchRows.toLocaleString('en-US')} rows into ${scale.targetRows.toLocaleString('en-US')} (${scale.targetFiles} files)` };
  const summary: Record<string, unknown> = {};
  for (const [id, { local, gcs: remote }] of Object.entries(results)) {
    const lt = med(local, (m) => m.wallMs);
    const gt = med(remote, (m) => m.wallMs);
    const calls = (ms: Measurement[]) => {
      const k = (f: keyof Calls) => med(ms, (m) => m.calls[f]);
      return `${k('list')} / ${k('get')} / ${k('head')} / ${k('put')} / ${k('delete')} (${med(ms, (m) => callTotal(m.calls))})`;
    };
    const range = (ms: Measurement[]) => `${fmtMs(Math.min(...ms.map((m) => m.wallMs)))}–${fmtMs(Math.max(...ms.map((m) => m.wallMs)))}`;
    const h = (f: keyof Http) => med(remote, (m) => m.http![f]);
    lines.push(`| ${titles[id]} | local | ${fmtMs(lt)} | ${range(local)} | ${calls(local)} | — | |`);
    lines.push(`| | gs:// | ${fmtMs(gt)} | ${range(remote)} | ${calls(remote)} | ${h('LIST')} / ${h('GET')} / ${h('HEAD')} / ${h('PUT')} / ${h('DELETE') + h('COPY') + h('OTHER')} (${med(remote, (m) => httpTotal(m.http!))}) | ${(gt / lt).toFixed(2)}× |`);
    summary[id] = { localMs: lt, gcsMs: gt, ratio: gt / lt, localCalls: med(local, (m) => callTotal(m.calls)), gcsCalls: med(remote, (m) => callTotal(m.calls)), gcsHttp: med(remote, (m) => httpTotal(m.http!)) };
  }
  const check = results.upsert.gcs[0];
  lines.push('');
  const snap = (m: Measurement) => `version ${m.version} with ${m.files} files`;
  lines.push(`Same tables on both sides: the snapshot is ${snap(results['snapshot-open'].gcs[0])} on gs:// and ${snap(results['snapshot-open'].local[0])} locally; the upsert updated ${String(check.updated)} and inserted ${String(check.inserted)} rows, rewriting ${String(check.filesRewritten)} of ${scale.targetFiles} files (local: ${String(results.upsert.local[0].updated)} / ${String(results.upsert.local[0].inserted)} / ${String(results.upsert.local[0].filesRewritten)}).`);
  lines.push('');
  lines.push('Store calls are what lakelet asks of its ObjectStore; HTTP requests are what reached the emulator (a listing is one request per 1,000 names; an upload is one multipart request; a conditional create that finds the object taken reads its metadata once). Data files are read through the local object cache, each at most once per process. A gs:// time includes loading the Cloud Storage client (~0.3 s, once per process). Loopback has no network latency: on a real bucket each request adds its round trip (~10–50 ms from outside Google Cloud, a few ms inside the region), so the request counts are the number to read.');
  lines.push('');
  lines.push(`Preparation (not timed above): ${Object.entries(prep.timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join('; ')}.`);
  const report = lines.join('\n') + '\n';
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'report.md'), report);
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({ startedAt: new Date(started).toISOString(), scale, repeat, machine: { cpus: cpus().length, model: cpus()[0]?.model, memory: totalmem(), node: process.version }, prep: prep.timings, summary, results }, null, 1));
  process.stdout.write(report);
  log(`wrote ${relative(process.cwd(), outDir)}/report.md and results.json`);
} finally {
  compute.close();
  await proxy.stop();
  await gcs.stop();
  rmSync(work, { recursive: true, force: true });
}
