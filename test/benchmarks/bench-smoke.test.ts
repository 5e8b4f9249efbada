import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deltaRsAvailable, repoRoot, requirePeer } from '../support/peers.ts';
import { tempDir } from '../support/temp.ts';
import { runTsx } from '../support/process.ts';
import type { BenchResults } from '../../benchmarks/lib/results.ts';

/**
 * The benchmark harness end to end at scale `tiny` on one scenario: it must write results.json,
 * report.md and SVG charts holding a measurement for each of the three engines. Timings are never
 * asserted (only that they were measured).
 */
const mode = requirePeer('delta-rs', deltaRsAvailable);
const tmp = tempDir('lakelet-bench-smoke-');
afterAll(() => tmp.cleanup());

const bench = (args: string[]) => runTsx(join(repoRoot, 'benchmarks', 'run.ts'), args);

describe.skipIf(mode === 'skip')('npm run bench (scale tiny, one scenario)', () => {
  it('writes JSON, Markdown and SVG with a measurement for lakelet, DuckDB native and delta-rs', async () => {
    const out = join(tmp.dir, 'report');
    const work = join(tmp.dir, 'work');
    const run = await bench(['--scale', 'tiny', '--only', 'upsert', '--out', out, '--work', work, '--require-peers', '--quiet']);
    if (run.code !== 0) throw new Error(`bench exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    expect(run.stdout).toMatch(/upsert\s+lakelet .* duckdb .* deltars /);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchResults;
    expect(results.schemaVersion).toBe(1);
    expect(results.scale.name).toBe('tiny');
    expect(results.machine.cpus).toBeGreaterThan(0);
    expect(results.machine.memoryBytes).toBeGreaterThan(0);
    expect(results.machine.duckdb).toMatch(/^v\d/);
    expect(results.machine.deltalake).toMatch(/^\d/);
    expect(results.scenarios.map((s) => s.id)).toEqual(['upsert']);
    const sc = results.scenarios[0];
    expect(sc.skipped).toBeUndefined();
    for (const engine of ['lakelet', 'duckdb', 'deltars'] as const) {
      const e = sc.engines[engine]!;
      expect(e.status, `${engine}: ${e.note}`).toBe('ok');
      expect(e.runs).toHaveLength(1);
      const r = e.runs[0];
      expect(r.error).toBeUndefined();
      expect(r.wallMs).toBeGreaterThan(0);
      expect(r.peakRssBytes).toBeGreaterThan(0);
      expect(r.rows).toBe(results.scale.batchRows);
      expect(e.summary?.medianMs).toBe(r.wallMs);
      expect(sc.ratios[engine === 'lakelet' ? 'deltars' : engine]).toBeGreaterThan(0);
    }
    // Bytes written by the Delta engines; DuckDB native works in memory.
    expect(sc.engines.lakelet!.runs[0].bytesWritten).toBeGreaterThan(0);
    expect(sc.engines.deltars!.runs[0].bytesWritten).toBeGreaterThan(0);
    expect(sc.engines.duckdb!.runs[0].bytesWritten).toBeNull();
    // lakelet's merge metrics: one of the target's files holds the updated keys.
    const m = sc.engines.lakelet!.runs[0].metrics!;
    expect(m.numTargetFilesScanned).toBeGreaterThan(0);
    expect(Number(m.numTargetFilesScanned) + Number(m.numTargetFilesSkipped)).toBe(results.scale.targetFiles);
    expect(m.numTargetRowsInserted).toBe(results.scale.batchRows / 2);

    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('# lakelet benchmark — scale `tiny`');
    expect(md).toContain('Incremental upsert');
    for (const label of ['lakelet', 'DuckDB native', 'delta-rs']) expect(md).toContain(label);
    expect(md).toContain('](charts/upsert.svg)');
    for (const chart of ['upsert.svg', 'overview.svg']) {
      const svg = readFileSync(join(out, 'charts', chart), 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trim().endsWith('</svg>')).toBe(true);
    }
    // The work folder is removed afterwards.
    expect(existsSync(work)).toBe(false);
  });
});
