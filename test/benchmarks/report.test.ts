import { describe, expect, it } from 'vitest';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesWritten, listFiles } from '../../benchmarks/lib/disk.ts';
import { charts, fmtBytes, fmtMs, fmtRate, fmtRatio, markdownReport } from '../../benchmarks/lib/report.ts';
import type { BenchResults } from '../../benchmarks/lib/results.ts';
import { SCALES } from '../../benchmarks/lib/scales.ts';
import { median } from '../../benchmarks/lib/stats.ts';
import { escapeXml } from '../../benchmarks/lib/svg.ts';
import { tempDir } from '../support/temp.ts';

function run(wallMs: number, extra: Record<string, unknown> = {}) {
  return { repeat: 0, wallMs, processMs: wallMs + 900, cpuMs: wallMs, peakRssBytes: 200 * 2 ** 20, rssAtStartBytes: 100 * 2 ** 20, bytesWritten: 1024, loadAverage1m: 0.5, ...extra };
}

function results(): BenchResults {
  const summary = (ms: number) => ({ medianMs: ms, minMs: ms * 0.9, maxMs: ms * 1.2, unitsPerSecond: 1000 / (ms / 1000), peakRssBytes: 200 * 2 ** 20, medianBytesWritten: 1024, medianCpuMs: ms });
  return {
    schemaVersion: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    durationMs: 60_000,
    scale: SCALES.tiny,
    options: { repeat: 1, only: null, engines: ['lakelet', 'duckdb', 'deltars'], seed: 42 },
    machine: { cpus: 2, cpuModel: 'Test CPU', memoryBytes: 8 * 2 ** 30, freeMemoryBytes: 2 ** 30, os: 'Linux (linux)', osRelease: '6', arch: 'x64', hostname: 'h', node: 'v20', duckdb: 'v1.5.6', lakelet: '0.1.0', deltalake: '1.6.6', pyarrow: '26', python: '3.11' },
    loadAverage: { start: [0.1, 0.2, 0.3], end: [0.4, 0.5, 0.6] },
    engines: { lakelet: { label: 'lakelet', available: true }, duckdb: { label: 'DuckDB', available: true }, deltars: { label: 'delta-rs', available: true } },
    preparationMs: { 'target-chunks': 1234 },
    scenarios: [
      {
        id: 'upsert',
        title: 'Incremental upsert <&>',
        description: 'd',
        unit: 'rows',
        units: 1000,
        params: { batchRows: 1000 },
        layout: { lakelet: { targetFiles: 10 } },
        engines: {
          lakelet: { status: 'ok', runs: [run(200, { phases: { openMs: 20 }, metrics: { numTargetFilesScanned: 1, numTargetFilesSkipped: 9 } })], summary: summary(200) },
          duckdb: { status: 'ok', runs: [run(10, { bytesWritten: null })], summary: { ...summary(10), medianBytesWritten: null } },
          deltars: { status: 'ok', runs: [run(100)], summary: summary(100) },
        },
        ratios: { duckdb: 20, deltars: 2 },
      },
      {
        id: 'snapshot-open',
        title: 'Open the latest snapshot',
        description: 'd',
        unit: 'commits',
        units: 12,
        engines: {
          lakelet: { status: 'ok', runs: [run(30)], summary: summary(30) },
          duckdb: { status: 'n/a', note: 'no Delta reader', runs: [] },
          deltars: { status: 'failed', note: 'exited 1: boom', runs: [run(NaN, { error: 'exited 1: boom' })] },
        },
        ratios: {},
      },
      { id: 'optimize', title: 'OPTIMIZE', description: 'd', unit: 'rows', skipped: 'not landed', engines: {}, ratios: {} },
    ],
  };
}

describe('benchmark report', () => {
  it('formats times, sizes, rates and ratios', () => {
    expect(fmtMs(0.5)).toBe('0.50 ms');
    expect(fmtMs(12.34)).toBe('12 ms');
    expect(fmtMs(1234)).toBe('1.23 s');
    expect(fmtMs(125_000)).toBe('2 min 5 s');
    expect(fmtMs(NaN)).toBe('—');
    expect(fmtBytes(null)).toBe('in memory');
    expect(fmtBytes(1536)).toBe('1.50 KiB');
    expect(fmtBytes(300 * 2 ** 20)).toBe('300 MiB');
    expect(fmtRate(2_500_000, 'rows')).toBe('2.50M rows/s');
    expect(fmtRatio(0.5)).toBe('0.50×');
    expect(fmtRatio(25)).toBe('25×');
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });

  it('writes a summary row per scenario, per-engine tables, notes for n/a, failed and skipped, and chart links', () => {
    const md = markdownReport(results());
    expect(md).toContain('| Incremental upsert <&> | 200 ms | 10 ms | 100 ms | 20× | 2.00× |');
    expect(md).toContain('| Open the latest snapshot | 30 ms | n/a | failed | — | — |');
    expect(md).toContain('| OPTIMIZE | skipped | skipped | skipped | — | — |');
    expect(md).toContain('**Skipped:** not landed');
    expect(md).toContain('no Delta reader');
    expect(md).toContain('exited 1: boom');
    expect(md).toContain('opening the table (DuckDB instance) 20 ms of each run; numTargetFilesScanned=1, numTargetFilesSkipped=9');
    expect(md).toContain('![Incremental upsert <&>](charts/upsert.svg)');
    expect(md).toContain('in memory');
  });

  it('draws well-formed SVG charts with escaped text', () => {
    const c = charts(results());
    expect(Object.keys(c).sort()).toEqual(['overview.svg', 'snapshot-open.svg', 'upsert.svg']);
    for (const svg of Object.values(c)) {
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg).not.toMatch(/NaN|undefined|Infinity/);
      // Every opened element is closed (self-closing or paired).
      const opened = (svg.match(/<(svg|text|path|rect|line)\b/g) ?? []).length;
      const closed = (svg.match(/<\/(svg|text)>|\/>/g) ?? []).length;
      expect(closed).toBe(opened);
    }
    expect(c['upsert.svg']).toContain('Incremental upsert &lt;&amp;&gt;');
    expect(c['overview.svg']).toContain('20×');
    expect(escapeXml('a<b>&"c"')).toBe('a&lt;b&gt;&amp;&quot;c&quot;');
  });

  it('counts new and changed files as written bytes', () => {
    const tmp = tempDir('lakelet-bench-disk-');
    try {
      mkdirSync(join(tmp.dir, 'sub'));
      writeFileSync(join(tmp.dir, 'a'), 'x'.repeat(10));
      writeFileSync(join(tmp.dir, 'sub', 'b'), 'y'.repeat(20));
      utimesSync(join(tmp.dir, 'a'), 1000, 1000);
      const before = listFiles(tmp.dir);
      writeFileSync(join(tmp.dir, 'sub', 'c'), 'z'.repeat(30));
      writeFileSync(join(tmp.dir, 'a'), 'x'.repeat(11));
      expect(bytesWritten(before, listFiles(tmp.dir))).toBe(41);
      expect(listFiles(join(tmp.dir, 'missing')).size).toBe(0);
    } finally {
      tmp.cleanup();
    }
  });
});
