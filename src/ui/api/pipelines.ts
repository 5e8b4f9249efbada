import { openStore } from '../../adapters/storage/open-store.ts';
import { dataFileFilter } from '../../pipeline/arrival.ts';
import { BatchState, type BatchDone, type BatchManifest } from '../../pipeline/batch-state.ts';
import { quarantinedFiles } from '../../pipeline/requeue.ts';
import type { UiWorkspace } from './workspace.ts';

/**
 * The pipelines page: per pipeline, what waits in landing, its last runs (batches) with their
 * summaries, and its files by status. Runs come from the batch manifests (the pipeline's own
 * state), counts from the ingestion log, "still quarantined" from requeue's own rule. Database
 * sources (the config's, not a pipeline's) are /api/sources (sources.ts), shown on the same page.
 */
export const RUNS_SHOWN = 100;
const WAITING_SHOWN = 50;

export interface RunView {
  seq: number;
  createdAt: string;
  finishedAt: string | null;
  files: number;
  staged: number;
  quarantined: number;
  duplicates: number;
  replaced: number;
  records: number;
  rowsInserted: number | null;
  rowsUpdated: number | null;
  rowsDeleted: number | null;
  stageVersion: number | null;
  targetVersion: number | null;
  recovered: boolean;
}

export async function pipelinesView(ws: UiWorkspace): Promise<Record<string, unknown>[]> {
  const counts = await ws.reader.statusCounts();
  const out = [];
  for (const p of ws.config.pipelines) {
    const state = new BatchState(p.name, p.stateDir);
    await state.load();
    const batches = state.all();
    const isData = dataFileFilter(p);
    const waiting = (await openStore(p.landing).list('')).filter((f) => isData(f.key));
    const mine = counts.filter((c) => c.pipeline === p.name);
    const byStatus = Object.fromEntries(mine.map((c) => [c.status, c.files]));
    out.push({
      name: p.name,
      format: p.format,
      landing: p.landing,
      stage: p.stage,
      target: p.target ?? null,
      archive: p.archive,
      quarantine: p.quarantine,
      key: p.key,
      waiting: {
        count: waiting.length,
        bytes: waiting.reduce((a, f) => a + f.size, 0),
        files: waiting.slice(0, WAITING_SHOWN).map((f) => ({ key: f.key, size: f.size, lastModified: new Date(f.lastModified).toISOString() })),
      },
      batches: { done: batches.filter((b) => b.done).length, unfinished: batches.filter((b) => !b.done).map((b) => b.manifest.seq) },
      files: {
        staged: (byStatus.staged ?? 0) + (byStatus.merged ?? 0),
        merged: byStatus.merged ?? 0,
        quarantined: byStatus.quarantined ?? 0,
        stillQuarantined: (await quarantinedFiles(p)).length,
        duplicate: byStatus.duplicate ?? 0,
        replaced: byStatus.replaced ?? 0,
        requeued: byStatus.requeued ?? 0,
      },
      records: mine.reduce((a, c) => a + (c.status === 'staged' || c.status === 'merged' ? c.records : 0), 0),
      runs: batches.slice(-RUNS_SHOWN).reverse().map((b) => runView(b.manifest, b.done)),
    });
  }
  return out;
}

function runView(m: BatchManifest, done: BatchDone | undefined): RunView {
  const staged = m.files.filter((f) => f.outcome === 'stage');
  return {
    seq: m.seq,
    createdAt: new Date(m.createdAt).toISOString(),
    finishedAt: done ? new Date(done.finishedAt).toISOString() : null,
    files: m.files.length,
    staged: staged.length,
    quarantined: m.files.filter((f) => f.outcome === 'quarantine').length,
    duplicates: m.files.filter((f) => f.outcome === 'duplicate').length,
    replaced: m.files.filter((f) => f.outcome === 'replaced').length,
    records: staged.reduce((a, f) => a + (f.records ?? 0), 0),
    rowsInserted: done?.rowsInserted ?? null,
    rowsUpdated: done?.rowsUpdated ?? null,
    rowsDeleted: done?.rowsDeleted ?? null,
    stageVersion: done?.stageVersion ?? null,
    targetVersion: done?.targetVersion ?? null,
    recovered: done?.recovered ?? false,
  };
}
