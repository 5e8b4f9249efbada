/**
 * `npm run bench:sync`: a database sync (PostgreSQL → lake) measured side by side with the seed's
 * approach (benchmarks/sync/baseline.ts): the first sync of N rows and an incremental sync of 1%
 * changed rows, each in a child process of its own, with wall time and peak RSS (/usr/bin/time or
 * /proc VmHWM). Not a test: run it by hand; it prints a Markdown table and writes results.json.
 *
 *   npm run bench:sync -- [--rows 1000000[,10000000]] [--dv] [--out <dir>]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { postgresAvailable, startPostgres } from '../../test/support/db-servers.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const sizes = (arg('--rows') ?? '1000000').split(',').map(Number);
/** --dv: the targets get delta.enableDeletionVectors (a MERGE of scattered changes then rewrites no file). */
const dv = process.argv.includes('--dv');
const outDir = arg('--out') ?? join(REPO, 'benchmarks', 'results', `sync-${new Date().toISOString().replace(/[:.]/g, '-')}`);

interface Measure {
  ms: number;
  peakRssMb: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a child and samples its peak RSS (VmHWM, a high-water mark, so sampling loses nothing but the last ms). */
function measure(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Measure> {
  return new Promise((done) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        // gone
      }
    };
    const timer = setInterval(sample, 25);
    child.on('close', (code) => {
      clearInterval(timer);
      done({ ms: performance.now() - started, peakRssMb: peak, code, stdout, stderr });
    });
  });
}

if (!postgresAvailable) throw new Error('PostgreSQL is not installed (bash scripts/setup-peers.sh / .ci/run)');
mkdirSync(outDir, { recursive: true });
const server = await startPostgres();
const results: Record<string, unknown>[] = [];
try {
  for (const n of sizes) {
    const work = mkdtempSync(join(tmpdir(), 'lakelet-bench-sync-'));
    try {
      const table = `bench_${n}`;
      const t0 = performance.now();
      await server.admin(`CREATE TABLE ${table} (id bigint PRIMARY KEY, account int NOT NULL, amount numeric(12,2), note text, updated_at timestamp NOT NULL);
        INSERT INTO ${table} SELECT g, g % 1000, (g % 100000) / 100.0, md5(g::text), timestamp '2024-01-01' + (g / 10) * interval '1 second' FROM generate_series(1, ${n}) g;
        CREATE INDEX ON ${table} (updated_at, id); ANALYZE ${table}`);
      process.stderr.write(`${n} rows generated in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      writeFileSync(join(work, 'lakelet.yml'), `sources:\n  pg:\n    url: ${server.url()}\n    passwordEnv: BENCH_PW\n    tables: [${table}]\n    target: ./lake\n${dv ? '    properties:\n      delta.enableDeletionVectors: true\n' : ''}`);
      const lakelet = () => measure(process.execPath, [join(REPO, 'bin', 'lakelet.mjs'), 'sync', '-c', join(work, 'lakelet.yml'), '--quiet', '--json'], { BENCH_PW: server.adminPassword });
      const baseline = () => measure(process.execPath, ['--import', 'tsx', join(REPO, 'benchmarks', 'sync', 'baseline.ts'), server.url(), server.adminPassword, join(work, 'baseline.duckdb'), table]);
      const run = async (phase: string) => {
        for (const [engine, go] of [['lakelet', lakelet], ['baseline', baseline]] as const) {
          const m = await go();
          if (m.code !== 0) {
            // The seed's fetch-everything approach may run out of heap on a big table: that is a result too.
            const why = /heap out of memory/i.test(m.stderr) ? 'out of memory' : `exit ${m.code}`;
            results.push({ rows: n, phase, engine, seconds: +(m.ms / 1000).toFixed(2), peakRssMb: +m.peakRssMb.toFixed(0), failed: why });
            process.stderr.write(`${engine} ${phase} ${n}: FAILED (${why}) after ${(m.ms / 1000).toFixed(1)} s: ${m.stderr.slice(-300)}\n`);
            if (engine === 'lakelet') throw new Error(`lakelet ${phase} ${n} failed (${m.code}): ${m.stderr.slice(-2000)}`);
            continue;
          }
          results.push({ rows: n, phase, engine, seconds: +(m.ms / 1000).toFixed(2), peakRssMb: +m.peakRssMb.toFixed(0) });
          process.stderr.write(`${engine} ${phase} ${n}: ${(m.ms / 1000).toFixed(1)} s, peak RSS ${m.peakRssMb.toFixed(0)} MB\n`);
        }
      };
      await run('first sync');
      await server.admin(`UPDATE ${table} SET amount = amount + 1, updated_at = timestamp '2030-01-01' + (id / 10) * interval '1 millisecond' WHERE id % 100 = 0`);
      await run('incremental 1%');
      await server.admin(`DROP TABLE ${table}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
} finally {
  await server.stop();
}

const ratio = (phase: string, n: number, key: 'seconds' | 'peakRssMb') => {
  const l = results.find((r) => r.rows === n && r.phase === phase && r.engine === 'lakelet')!;
  const b = results.find((r) => r.rows === n && r.phase === phase && r.engine === 'baseline')!;
  if (b.failed) return [l[key], `failed (${b.failed}) at ${b[key]}`, '-'];
  return [l[key], b[key], ((l[key] as number) / (b[key] as number)).toFixed(2)];
};
const lines = ['| rows | phase | lakelet s | baseline s | time ratio | lakelet peak RSS MB | baseline peak RSS MB | RSS ratio |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
for (const n of sizes) for (const phase of ['first sync', 'incremental 1%']) lines.push(`| ${n} | ${phase} | ${ratio(phase, n, 'seconds').join(' | ')} | ${ratio(phase, n, 'peakRssMb').join(' | ')} |`);
const report = lines.join('\n') + '\n';
writeFileSync(join(outDir, 'results.json'), JSON.stringify(results, null, 2));
writeFileSync(join(outDir, 'report.md'), report);
process.stdout.write(report);
if (!existsSync(outDir)) process.exitCode = 1;
