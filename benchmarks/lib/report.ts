import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENGINE_IDS, ENGINE_LABELS, type EngineId } from './engines.ts';
import type { BenchResults, EngineResult, ScenarioResult } from './results.ts';
import { ENGINE_COLORS, ratioChart, scenarioChart, type Bar } from './svg.ts';

export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function fmtBytes(bytes: number | null | undefined): string {
  if (bytes === null) return 'in memory';
  if (bytes === undefined || !Number.isFinite(bytes)) return '—';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

export function fmtRate(perSecond: number | undefined, unit: string): string {
  if (perSecond === undefined || !Number.isFinite(perSecond)) return '—';
  const [v, s] = perSecond >= 1e9 ? [perSecond / 1e9, 'G'] : perSecond >= 1e6 ? [perSecond / 1e6, 'M'] : perSecond >= 1e3 ? [perSecond / 1e3, 'k'] : [perSecond, ''];
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${s} ${unit}/s`;
}

export function fmtRatio(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return '—';
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(2) : r.toFixed(2)}×`;
}

const fmtCount = (n: number) => n.toLocaleString('en-US');

function engineCell(e: EngineResult | undefined): string {
  if (!e) return '—';
  if (e.status === 'ok' && e.summary) return fmtMs(e.summary.medianMs);
  return e.status === 'n/a' ? 'n/a' : e.status;
}

/** The lakelet merge metrics worth reading next to the times. */
const LAKELET_MERGE_KEYS = [
  'numTargetFilesScanned',
  'numTargetFilesSkipped',
  'numTargetFilesRemoved',
  'numTargetFilesAdded',
  'numTargetRowsCopied',
  'numTargetRowsUpdated',
  'numTargetRowsInserted',
  'numTargetRowsDeleted',
  'scanTimeMs',
  'rewriteTimeMs',
] as const;
const DELTARS_MERGE_KEYS = [
  'num_target_files_scanned',
  'num_target_files_skipped_during_scan',
  'num_target_files_removed',
  'num_target_files_added',
  'num_target_rows_copied',
  'num_target_rows_updated',
  'num_target_rows_inserted',
  'num_target_rows_deleted',
  'scan_time_ms',
  'rewrite_time_ms',
] as const;

function metricsLine(engine: EngineId, e: EngineResult): string | undefined {
  const opens = e.runs.map((r) => r.phases?.openMs).filter((v): v is number => typeof v === 'number');
  const open = opens.length ? `opening the table (DuckDB instance) ${fmtMs(opens.sort((a, b) => a - b)[Math.floor((opens.length - 1) / 2)])} of each run; ` : '';
  const m = e.runs.find((r) => r.metrics)?.metrics;
  if (!m) return open ? open.replace(/; $/, '') : undefined;
  const keys = engine === 'lakelet' ? LAKELET_MERGE_KEYS : engine === 'deltars' ? DELTARS_MERGE_KEYS : [];
  const picked = (keys as readonly string[]).filter((k) => m[k] !== undefined).map((k) => `${k}=${m[k]}`);
  if (picked.length === 0) {
    const rest = Object.entries(m)
      .filter(([, v]) => typeof v === 'number' || typeof v === 'string')
      .slice(0, 10)
      .map(([k, v]) => `${k}=${v}`);
    return rest.length ? open + rest.join(', ') : open ? open.replace(/; $/, '') : undefined;
  }
  return open + picked.join(', ');
}

/** Per-file latency (landing → target commit) over every file of every run: p50 and p95. */
export function latencyPercentiles(e: EngineResult): { p50: number; p95: number; n: number } | undefined {
  const all = e.runs.flatMap((r) => (Array.isArray(r.metrics?.batchMs) ? (r.metrics!.batchMs as number[]) : [])).sort((a, b) => a - b);
  if (all.length === 0) return undefined;
  const at = (q: number) => all[Math.min(all.length - 1, Math.ceil(q * all.length) - 1)];
  return { p50: at(0.5), p95: at(0.95), n: all.length };
}

function latencyLine(e: EngineResult): string | undefined {
  const p = latencyPercentiles(e);
  return p ? `**per-file latency p50 ${fmtMs(p.p50)}, p95 ${fmtMs(p.p95)}** (${fmtCount(p.n)} files over all runs)` : undefined;
}

function presentEngines(results: BenchResults): EngineId[] {
  return ENGINE_IDS.filter((e) => results.options.engines.includes(e));
}

export function markdownReport(results: BenchResults): string {
  const engines = presentEngines(results);
  const peers = engines.filter((e) => e !== 'lakelet');
  const m = results.machine;
  const out: string[] = [];
  out.push(`# lakelet benchmark — scale \`${results.scale.name}\``, '');
  out.push(
    `Run ${results.startedAt} (${fmtMs(results.durationMs)} in all, data preparation included), lakelet ${m.lakelet}` +
      `${m.lakeletCommit ? ` at ${m.lakeletCommit}` : ''}, ${results.options.repeat} repeat${results.options.repeat === 1 ? '' : 's'} per engine and scenario, seed ${results.options.seed}.`,
    '',
  );
  out.push(
    `**Machine:** ${m.cpus} × ${m.cpuModel}, ${fmtBytes(m.memoryBytes)} RAM, ${m.distro ?? m.os} (${m.os} ${m.osRelease}, ${m.arch}).  `,
    `**Versions:** Node ${m.node}, DuckDB ${m.duckdb} (@duckdb/node-api), ` +
      `${m.deltalake ? `deltalake ${m.deltalake} (delta-rs) with pyarrow ${m.pyarrow} on Python ${m.python}` : 'delta-rs peer not installed'}.`,
    '',
  );
  const la = results.loadAverage;
  out.push(
    `**Load average** (1/5/15 min) at the start: ${la.start.join(' / ')}; at the end: ${la.end.join(' / ')}. ` +
      'Other work on the machine during the run shows up as noise; each run records the 1-minute load average when it started (`loadAverage1m` in results.json).',
    '',
  );
  out.push('## How to read this', '');
  out.push(
    '- Each engine runs each scenario in a **fresh child process of its own** (lakelet: `node --import tsx`; DuckDB native: a Node child with `@duckdb/node-api`; delta-rs: a Python child with `deltalake`), on the **same generated data**, in the same run. Engine order rotates between repeats.',
    '- **Wall time** is measured inside the child around the operation only (opening the table included; process start-up, imports, data preparation and closing the engine afterwards excluded, for every engine): the median of the repeats, with the min–max spread.',
    "- **Peak RSS** is the child's own peak resident set size (`process.resourceUsage().maxRSS`, Python `ru_maxrss`): runtime, libraries and — for DuckDB native — the in-memory target table included. *RSS at start* is the resident size just before the timer started.",
    "- **Bytes written** are the new or changed bytes in the engine's table folders after the run (data files, log, checkpoints). DuckDB native works in memory.",
    '- **Ratio** = lakelet ÷ peer, on median wall time: above 1×, lakelet is slower.',
    '- lakelet and DuckDB native both run DuckDB with a 4 GB memory limit and all cores; delta-rs uses its defaults.',
    "- The merge batches are Parquet files DuckDB wrote in the tables' own layout (same columns, types and encodings). A plain upsert (WHEN MATCHED UPDATE SET *, WHEN NOT MATCHED INSERT *: the upsert, insert-only, update-only and unsorted scenarios, with and without deletion vectors) writes exactly the batch's rows, so lakelet takes the batch file into the table as it is (a copy, its stats from the footer) instead of encoding the rows again; the peers encode them. A batch in another layout (another writer's types, extra columns) is written anew, as before: against that (medians of four interleaved runs), the copy saved 36–46 ms of a small insert-only or update-only merge (of 100–126 ms) and 112–137 ms of a medium upsert (of 391–444 ms, with and without deletion vectors).",
    '',
  );
  out.push('## Sizes', '');
  const s = results.scale;
  out.push('| parameter | value |', '| --- | --- |');
  out.push(`| merge target | ${fmtCount(s.targetRows)} accounts in ${s.targetFiles} files (one per sorted key range), written as a create commit and one append per file, so a merge commits version ${s.targetFiles + 1}: not a checkpoint version |`);
  out.push(`| merge batch | ${fmtCount(s.batchRows)} rows; updates touch ${Math.round(s.hotFraction * 100)}% of the target's files |`);
  out.push(`| small-files pipeline | ${fmtCount(s.pipelineFiles)} CSV files × ${fmtCount(s.pipelineFileRows)} orders, ${s.pipelineMaxFiles} files per batch |`);
  out.push(`| snapshot / time travel | ${fmtCount(s.commits)} commits of ${fmtCount(s.commitRows)} rows (checkpoint every 10) |`);
  out.push(`| OPTIMIZE | ${fmtCount(s.optimizeFiles)} files × ${fmtCount(s.optimizeFileRows)} rows |`, '');

  out.push('## Summary', '');
  const head = ['scenario', ...engines.map((e) => ENGINE_LABELS[e]), ...peers.map((p) => `lakelet ÷ ${ENGINE_LABELS[p].split(' ')[0]}`)];
  out.push(`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`);
  for (const sc of results.scenarios) {
    if (sc.skipped) {
      out.push(`| ${sc.title} | ${engines.map(() => 'skipped').join(' | ')} | ${peers.map(() => '—').join(' | ')} |`);
      continue;
    }
    out.push(`| ${sc.title} | ${engines.map((e) => engineCell(sc.engines[e])).join(' | ')} | ${peers.map((p) => fmtRatio(sc.ratios[p])).join(' | ')} |`);
  }
  out.push('', '![lakelet ÷ peers](charts/overview.svg)', '');

  out.push('## Scenarios', '');
  for (const sc of results.scenarios) {
    out.push(`### ${sc.title} (\`${sc.id}\`)`, '', sc.description, '');
    if (sc.skipped) {
      out.push(`**Skipped:** ${sc.skipped}`, '');
      continue;
    }
    if (sc.params) out.push(`Parameters: ${Object.entries(sc.params).map(([k, v]) => `${k}=${typeof v === 'number' ? fmtCount(v) : String(v)}`).join(', ')}.`, '');
    const layouts = Object.entries(sc.layout ?? {}).filter(([, v]) => v && Object.keys(v).length);
    if (layouts.length) out.push(`Prepared layout: ${layouts.map(([e, v]) => `${ENGINE_LABELS[e as EngineId]}: ${Object.entries(v!).map(([k, x]) => `${k}=${x}`).join(', ')}`).join('; ')}.`, '');
    out.push(`| engine | median | min–max | ${sc.unit}/s | peak RSS | RSS at start | bytes written | CPU (median) |`);
    out.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
    const notes: string[] = [];
    for (const e of engines) {
      const r = sc.engines[e];
      if (!r) continue;
      if (r.status !== 'ok' || !r.summary) {
        out.push(`| ${ENGINE_LABELS[e]} | ${r.status} | | | | | | |`);
        if (r.note) notes.push(`- ${ENGINE_LABELS[e]}: ${r.note}`);
        continue;
      }
      const sm = r.summary;
      const rssStart = Math.max(...r.runs.map((x) => x.rssAtStartBytes));
      out.push(
        `| ${ENGINE_LABELS[e]} | ${fmtMs(sm.medianMs)} | ${fmtMs(sm.minMs)} – ${fmtMs(sm.maxMs)} | ${fmtRate(sm.unitsPerSecond, sc.unit)} | ${fmtBytes(sm.peakRssBytes)} | ${fmtBytes(rssStart)} | ${fmtBytes(sm.medianBytesWritten)} | ${fmtMs(sm.medianCpuMs)} |`,
      );
      const ml = metricsLine(e, r);
      if (ml) notes.push(`- ${ENGINE_LABELS[e]}: ${ml}${r.runs.some((x) => x.metrics) ? ' (metrics of the first run)' : ''}`);
      const lat = latencyLine(r);
      if (lat) notes.push(`- ${ENGINE_LABELS[e]}: ${lat}`);
      if (r.note) notes.push(`- ${ENGINE_LABELS[e]}: ${r.note}`);
    }
    const ratios = peers.filter((p) => sc.ratios[p] !== undefined).map((p) => `${fmtRatio(sc.ratios[p])} ${ENGINE_LABELS[p]}'s`);
    if (ratios.length) out.push('', `lakelet's median time is ${ratios.join(' and ')}.`);
    if (notes.length) out.push('', ...notes);
    out.push('', `![${sc.title}](charts/${sc.id}.svg)`, '');
  }

  out.push('## Data preparation (not measured)', '');
  out.push('| step | time |', '| --- | --- |');
  for (const [k, v] of Object.entries(results.preparationMs)) out.push(`| ${k} | ${fmtMs(v)} |`);
  out.push('', 'Raw measurements of every run: `results.json` in this folder.', '');
  return out.join('\n');
}

export function charts(results: BenchResults): Record<string, string> {
  const engines = presentEngines(results);
  const peers = engines.filter((e) => e !== 'lakelet');
  const out: Record<string, string> = {};
  for (const sc of results.scenarios) {
    if (sc.skipped) continue;
    const time: Bar[] = [];
    const rss: Bar[] = [];
    for (const e of engines) {
      const r = sc.engines[e];
      const sm = r?.summary;
      if (!r || r.status !== 'ok' || !sm) {
        time.push({ label: ENGINE_LABELS[e], value: 0, color: ENGINE_COLORS[e], text: r?.status ?? '—' });
        rss.push({ label: ENGINE_LABELS[e], value: 0, color: ENGINE_COLORS[e], text: r?.status ?? '—' });
        continue;
      }
      time.push({ label: ENGINE_LABELS[e], value: sm.medianMs, min: sm.minMs, max: sm.maxMs, color: ENGINE_COLORS[e], text: fmtMs(sm.medianMs) });
      rss.push({ label: ENGINE_LABELS[e], value: sm.peakRssBytes, color: ENGINE_COLORS[e], text: fmtBytes(sm.peakRssBytes) });
    }
    const subtitle = `scale ${results.scale.name}; ${sc.units !== undefined ? `${fmtCount(sc.units)} ${sc.unit} per run; ` : ''}${results.options.repeat} repeat(s)`;
    out[`${sc.id}.svg`] = scenarioChart(sc.title, subtitle, time, rss);
  }
  const rows = results.scenarios
    .filter((sc) => !sc.skipped)
    .map((sc) => ({ label: sc.title, ratios: peers.map((p) => ({ peer: p, value: sc.ratios[p] })) }));
  out['overview.svg'] = ratioChart(`lakelet vs peers — scale ${results.scale.name}`, rows, Object.fromEntries(peers.map((p) => [p, ENGINE_LABELS[p]])));
  return out;
}

/** Writes results.json, report.md and charts/*.svg into `dir`. */
export function writeReport(dir: string, results: BenchResults): { json: string; markdown: string; charts: string[] } {
  mkdirSync(join(dir, 'charts'), { recursive: true });
  const json = join(dir, 'results.json');
  writeFileSync(json, JSON.stringify(results, null, 2) + '\n');
  const markdown = join(dir, 'report.md');
  writeFileSync(markdown, markdownReport(results));
  const written: string[] = [];
  for (const [name, svg] of Object.entries(charts(results))) {
    const p = join(dir, 'charts', name);
    writeFileSync(p, svg);
    written.push(p);
  }
  return { json, markdown, charts: written };
}

export type { ScenarioResult };
