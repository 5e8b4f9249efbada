// npm run bench [-- options]: lakelet side by side with DuckDB native and delta-rs.
// See benchmarks/README.md for the scenarios, the sizes of each scale and how to read the report.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runBench } from './lib/bench.ts';
import { ENGINE_IDS, REPO_ROOT, type EngineId } from './lib/engines.ts';
import { fmtMs, fmtRatio, writeReport } from './lib/report.ts';
import type { BenchResults } from './lib/results.ts';
import { SCALES, scaleNamed } from './lib/scales.ts';
import { SCENARIOS } from './lib/scenarios.ts';

const HELP = `Usage: npm run bench -- [options]

Runs every scenario for lakelet, DuckDB native (in-memory MERGE INTO / INSERT) and delta-rs
(Python deltalake), each in its own child process, on the same generated data, and writes
results.json, report.md and charts/*.svg into benchmarks/results/<timestamp>/.

Options:
  --scale <name>      ${Object.keys(SCALES).join(' | ')} (default: small — the whole suite in ~10 min on 2 cores)
  --only <ids>        comma-separated scenarios (repeatable); default: all
  --repeat <n>        runs per engine and scenario (default: the scale's, 3 at small)
  --engines <ids>     comma-separated subset of ${ENGINE_IDS.join(', ')}
  --out <dir>         where to write the report (default: benchmarks/results/<timestamp>)
  --work <dir>        where to put generated data and tables (default: a folder in ${tmpdir()})
  --keep-work         keep the work folder (tables, generated data) afterwards
  --seed <n>          seed of the synthetic data (default 42)
  --require-peers     fail when delta-rs is not installed instead of skipping it
  --no-progress       no progress bar (log lines only)
  --quiet             no log lines
  --render <dir>      only rewrite report.md and charts/ from <dir>/results.json (no measuring)
  -h, --help          this help

Scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}

Examples:
  npm run bench
  npm run bench -- --scale medium --only upsert,no-change-merge --repeat 5
  npm run bench -- --scale tiny --engines lakelet,deltars --out /tmp/bench-check`;

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) fail(`${name} expects a whole number of 1 or more, got '${value}'.`);
  return Number(value);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        scale: { type: 'string', default: 'small' },
        only: { type: 'string', multiple: true },
        repeat: { type: 'string' },
        engines: { type: 'string' },
        out: { type: 'string' },
        work: { type: 'string' },
        'keep-work': { type: 'boolean', default: false },
        seed: { type: 'string' },
        'require-peers': { type: 'boolean', default: false },
        'no-progress': { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        render: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    fail(`${(err as Error).message} (see --help)`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  if (v.render) {
    const dir = resolve(v.render);
    const files = writeReport(dir, JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as BenchResults);
    process.stdout.write(`rewrote ${relative(process.cwd(), files.markdown)} and ${files.charts.length} charts\n`);
    return;
  }
  let scale;
  try {
    scale = scaleNamed(v.scale ?? 'small');
  } catch (err) {
    fail((err as Error).message);
  }
  const only = v.only?.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const unknown = (only ?? []).filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length) fail(`unknown scenario ${unknown.join(', ')}; choose from: ${SCENARIOS.map((s) => s.id).join(', ')}.`);
  const engines = v.engines?.split(',').map((s) => s.trim()).filter(Boolean) as EngineId[] | undefined;
  const badEngine = (engines ?? []).filter((e) => !ENGINE_IDS.includes(e));
  if (badEngine.length) fail(`unknown engine ${badEngine.join(', ')}; choose from: ${ENGINE_IDS.join(', ')}.`);
  if (v.seed !== undefined && !/^-?\d+$/.test(v.seed)) fail(`--seed expects a whole number, got '${v.seed}'.`);
  const stamp = new Date().toISOString().replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
  const out = resolve(v.out ?? join(REPO_ROOT, 'benchmarks', 'results', stamp));
  const work = resolve(v.work ?? join(tmpdir(), `lakelet-bench-${stamp}-${process.pid}`));

  const results = await runBench({
    scale,
    only,
    repeat: positiveInt('--repeat', v.repeat),
    engines,
    seed: v.seed !== undefined ? Number(v.seed) : undefined,
    work,
    keepWork: v['keep-work'],
    requirePeers: v['require-peers'],
    progress: { bar: process.stderr.isTTY === true && !v['no-progress'] && !v.quiet, quiet: v.quiet === true },
  });
  const files = writeReport(out, results);

  const lines = [`scale ${scale.name}: ${fmtMs(results.durationMs)} in all`];
  for (const sc of results.scenarios) {
    if (sc.skipped) {
      lines.push(`  ${sc.id.padEnd(22)} skipped: ${sc.skipped}`);
      continue;
    }
    const cells = results.options.engines.map((e) => {
      const r = sc.engines[e];
      return `${e} ${r?.summary ? fmtMs(r.summary.medianMs) : (r?.status ?? '—')}`;
    });
    const ratios = Object.entries(sc.ratios).map(([p, r]) => `÷${p} ${fmtRatio(r)}`);
    lines.push(`  ${sc.id.padEnd(22)} ${cells.join('  ')}${ratios.length ? `   lakelet ${ratios.join(' ')}` : ''}`);
  }
  lines.push(`report: ${relative(process.cwd(), files.markdown)}`, `results: ${relative(process.cwd(), files.json)}`, `charts: ${relative(process.cwd(), join(out, 'charts'))}/`);
  process.stdout.write(lines.join('\n') + '\n');
}

await main();
