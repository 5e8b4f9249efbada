import { readdir, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { UiRequestError } from '../errors.ts';
import { inside } from '../static-files.ts';

/**
 * The benchmarks page: the reports `npm run bench` writes (one folder per run with results.json),
 * newest first, each reduced to what the charts draw: per scenario and engine, the median, min and
 * max wall time and the median peak memory. A report is named by its folder name, looked up in the
 * listing; a folder (or symlink) whose real path leaves the results folder is not listed.
 */
interface Run {
  wallMs?: number;
  peakRssBytes?: number;
}
interface Results {
  startedAt?: string;
  scale?: { name?: string };
  machine?: Record<string, unknown>;
  engines?: Record<string, { label?: string; available?: boolean }>;
  scenarios?: { id: string; title?: string; unit?: string; description?: string; engines?: Record<string, { status?: string; runs?: Run[]; reason?: string }> }[];
}

export async function benchmarkList(root: string): Promise<Record<string, unknown>[]> {
  const reports = await reportFolders(root);
  const out = [];
  for (const r of reports) out.push(summary(r.id, r.results));
  return out.sort((a, b) => String(b.startedAt ?? '').localeCompare(String(a.startedAt ?? '')));
}

export async function benchmarkReport(root: string, id: string): Promise<Record<string, unknown>> {
  const found = (await reportFolders(root)).find((r) => r.id === id);
  if (!found) throw new UiRequestError(404, `no benchmark report '${id}' in ${root}; run \`npm run bench\` to make one`);
  return summary(found.id, found.results);
}

async function reportFolders(root: string): Promise<{ id: string; results: Results }[]> {
  let rootReal: string;
  try {
    rootReal = await realpath(root);
  } catch {
    return [];
  }
  const out = [];
  for (const e of await readdir(rootReal, { withFileTypes: true })) {
    if (!e.isDirectory() && !e.isSymbolicLink()) continue;
    let file: string;
    try {
      file = await realpath(join(rootReal, e.name, 'results.json'));
    } catch {
      continue;
    }
    if (!inside(rootReal, file)) continue;
    try {
      out.push({ id: e.name, results: JSON.parse(await readFile(file, 'utf8')) as Results });
    } catch {
      continue; // a report being written, or not one of ours
    }
  }
  return out;
}

function summary(id: string, r: Results): Record<string, unknown> {
  const engines = Object.entries(r.engines ?? {}).map(([engine, e]) => ({ id: engine, label: e.label ?? engine, available: e.available !== false }));
  return {
    id,
    startedAt: r.startedAt ?? null,
    scale: r.scale?.name ?? null,
    machine: r.machine ? { cpus: r.machine.cpus, cpuModel: r.machine.cpuModel, node: r.machine.node, duckdb: r.machine.duckdb, lakeletCommit: r.machine.lakeletCommit } : null,
    engines,
    scenarios: (r.scenarios ?? []).map((s) => ({
      id: s.id,
      title: s.title ?? s.id,
      description: s.description ?? '',
      results: Object.fromEntries(
        engines.map((e) => {
          const cell = s.engines?.[e.id];
          const walls = (cell?.runs ?? []).map((x) => x.wallMs).filter((x): x is number => typeof x === 'number');
          const rss = (cell?.runs ?? []).map((x) => x.peakRssBytes).filter((x): x is number => typeof x === 'number');
          return [e.id, { status: cell?.status ?? 'n/a', runs: walls.length, medianWallMs: median(walls), minWallMs: walls.length ? Math.min(...walls) : null, maxWallMs: walls.length ? Math.max(...walls) : null, medianPeakRssBytes: median(rss) }];
        }),
      ),
    })),
  };
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
