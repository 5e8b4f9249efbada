import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
import { bytesWritten, listFiles } from './disk.ts';
import { deltaRsVersions, ENGINE_IDS, ENGINE_LABELS, runInChild, type EngineId } from './engines.ts';
import { machineInfo } from './machine.ts';
import { Preparer } from './prepare.ts';
import { BenchProgress } from './progress.ts';
import type { BenchResults, EngineResult, EngineSummary, RunMeasurement, ScenarioResult } from './results.ts';
import type { Scale } from './scales.ts';
import { selectScenarios } from './scenarios.ts';
import { max, median, min } from './stats.ts';

export interface BenchOptions {
  scale: Scale;
  only?: string[];
  repeat?: number;
  engines?: EngineId[];
  seed?: number;
  /** Work folder for generated data and tables (removed at the end unless keepWork). */
  work: string;
  keepWork?: boolean;
  /** Fail instead of skipping delta-rs when the peer is not installed. */
  requirePeers?: boolean;
  progress?: { bar: boolean; quiet: boolean };
}

/** Runs the selected scenarios for every engine and returns every measurement. */
export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const startedAt = new Date();
  const scale = options.scale;
  const repeat = options.repeat ?? scale.repeat;
  const seed = options.seed ?? 42;
  const engines = ENGINE_IDS.filter((e) => (options.engines ?? ENGINE_IDS).includes(e));
  const scenarios = selectScenarios(options.only);

  const peer = engines.includes('deltars') ? deltaRsVersions() : undefined;
  const available: Record<EngineId, { available: boolean; note?: string }> = {
    lakelet: { available: true },
    duckdb: { available: true },
    deltars: peer ? { available: true } : { available: false, note: 'the delta-rs peer is not installed (run `bash scripts/setup-peers.sh`)' },
  };
  if (engines.includes('deltars') && !peer && options.requirePeers) {
    throw new Error('delta-rs peer not available: install it with `bash scripts/setup-peers.sh` (or run without --require-peers to skip it).');
  }

  const loadStart = loadavg();
  // Everything but templates/ starts afresh; a template is rebuilt by its own step (or, for the
  // many-commits table, reused when marked complete: see Preparer.manyCommitsTable).
  for (const entry of existsSync(options.work) ? readdirSync(options.work) : []) {
    if (entry !== 'templates') rmSync(join(options.work, entry), { recursive: true, force: true });
  }
  mkdirSync(options.work, { recursive: true });
  const compute = await openCompute();
  const progress = new BenchProgress(scenarios.length * engines.length * repeat, options.progress ?? { bar: false, quiet: true });
  const preparer = new Preparer({ scale, work: options.work, compute, seed, engines: engines.filter((e) => available[e].available), log: (l) => progress.log(l) });
  const results: ScenarioResult[] = [];
  try {
    const machine = await machineInfo(compute);
    for (const scenario of scenarios) {
      const sr: ScenarioResult = { id: scenario.id, title: scenario.title, description: scenario.description, unit: scenario.unit, engines: {}, ratios: {} };
      results.push(sr);
      const reason = scenario.unavailable?.();
      if (reason) {
        sr.skipped = reason;
        progress.log(`${scenario.id}: skipped (${reason})`);
        progress.tick(engines.length * repeat);
        continue;
      }
      progress.step(`${scenario.id}: preparing data`);
      let prepared;
      try {
        prepared = await scenario.prepare(preparer);
      } catch (err) {
        sr.skipped = `data preparation failed: ${(err as Error).message.split('\n')[0]}`;
        progress.log(`${scenario.id}: ${sr.skipped}`);
        progress.tick(engines.length * repeat);
        continue;
      }
      sr.units = prepared.units;
      sr.params = prepared.params;
      sr.layout = prepared.layout;
      for (const e of engines) {
        const na = scenario.notApplicable?.[e];
        sr.engines[e] = na ? { status: 'n/a', note: na, runs: [] } : available[e].available ? { status: 'ok', runs: [] } : { status: 'skipped', note: available[e].note, runs: [] };
      }
      for (let r = 0; r < repeat; r++) {
        // Rotate the engine order between repeats: no engine always runs first (cold) or last.
        const order = engines.map((_, i) => engines[(i + r) % engines.length]);
        for (const e of order) {
          const er = sr.engines[e]!;
          if (er.status !== 'ok' && er.status !== 'failed') {
            progress.tick();
            continue;
          }
          progress.step(`${scenario.id}: ${ENGINE_LABELS[e]} (${r + 1}/${repeat})`);
          const m = await measure(preparer, scenario.id, e, r, prepared, scale.timeoutMs, options.keepWork ?? false);
          er.runs.push(m);
          progress.log(`${scenario.id} · ${e} · run ${r + 1}/${repeat}: ${m.error ? `FAILED (${m.error})` : `${(m.wallMs / 1000).toFixed(3)} s, peak RSS ${Math.round(m.peakRssBytes / 2 ** 20)} MiB`}`);
          progress.tick();
        }
      }
      for (const e of engines) finish(sr.engines[e]!, prepared.units);
      const lake = sr.engines.lakelet?.summary;
      for (const p of engines.filter((x) => x !== 'lakelet')) {
        const ps = sr.engines[p]?.summary;
        if (lake && ps && ps.medianMs > 0) sr.ratios[p] = lake.medianMs / ps.medianMs;
      }
    }
    progress.stop();
    const finishedAt = new Date();
    return {
      schemaVersion: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      scale,
      options: { repeat, only: options.only?.length ? options.only : null, engines, seed },
      machine,
      loadAverage: { start: loadStart.map(round2), end: loadavg().map(round2) },
      engines: Object.fromEntries(ENGINE_IDS.map((e) => [e, { label: ENGINE_LABELS[e], ...available[e] }])) as BenchResults['engines'],
      preparationMs: { ...preparer.timings },
      scenarios: results,
    };
  } finally {
    progress.stop();
    compute.close();
    if (!options.keepWork) rmSync(options.work, { recursive: true, force: true });
  }
}

async function measure(
  preparer: Preparer,
  scenario: string,
  engine: EngineId,
  repeat: number,
  prepared: Awaited<ReturnType<import('./scenarios.ts').Scenario['prepare']>>,
  timeoutMs: number,
  keep: boolean,
): Promise<RunMeasurement> {
  const setup = await prepared.setup(engine, repeat);
  const loadAverage1m = loadavg()[0];
  const before = setup.outputs.map((d) => listFiles(d));
  const outcome = await runInChild(engine, setup.task, preparer.scratch(), timeoutMs);
  const written = setup.outputs.length === 0 ? null : setup.outputs.reduce((a, d, i) => a + bytesWritten(before[i], listFiles(d)), 0);
  if (!keep) rmSync(join(preparer.ctx.work, 'runs', scenario, `${engine}-${repeat}`), { recursive: true, force: true });
  const r = outcome.result;
  if (!r) {
    return { repeat, wallMs: NaN, processMs: outcome.processMs, cpuMs: NaN, peakRssBytes: NaN, rssAtStartBytes: NaN, bytesWritten: null, loadAverage1m, error: outcome.error };
  }
  return {
    repeat,
    wallMs: r.wallMs,
    processMs: outcome.processMs,
    cpuMs: r.cpuMs,
    peakRssBytes: r.peakRssBytes,
    rssAtStartBytes: r.rssAtStartBytes,
    bytesWritten: written,
    loadAverage1m,
    ...(r.phases && typeof r.phases === 'object' ? { phases: r.phases as Record<string, number> } : {}),
    ...(r.rows !== undefined ? { rows: r.rows } : {}),
    ...(r.files !== undefined ? { files: r.files } : {}),
    ...(r.version !== undefined ? { version: r.version } : {}),
    ...(r.metrics ? { metrics: r.metrics } : {}),
  };
}

function finish(er: EngineResult, units: number): void {
  const ok = er.runs.filter((r) => !r.error);
  const failed = er.runs.filter((r) => r.error);
  if (er.runs.length === 0) return;
  if (ok.length === 0) {
    er.status = 'failed';
    er.note = failed[0].error;
    return;
  }
  if (failed.length > 0) er.note = `${failed.length} of ${er.runs.length} runs failed: ${failed[0].error}`;
  er.status = 'ok';
  const times = ok.map((r) => r.wallMs);
  const bytes = ok.map((r) => r.bytesWritten).filter((b): b is number => b !== null);
  const summary: EngineSummary = {
    medianMs: median(times),
    minMs: min(times),
    maxMs: max(times),
    unitsPerSecond: units / (median(times) / 1000),
    peakRssBytes: max(ok.map((r) => r.peakRssBytes)),
    medianBytesWritten: bytes.length ? median(bytes) : null,
    medianCpuMs: median(ok.map((r) => r.cpuMs)),
  };
  er.summary = summary;
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
