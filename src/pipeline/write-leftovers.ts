import { readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { IngestionLogTable } from '../warehouse/warehouse.ts';
import type { Reporter } from './reporter.ts';
import type { PipelineRuntime } from './runtime.ts';
import { batchWorkDir } from './work-dir.ts';

/**
 * A run killed at any instant (SIGKILL, power cut) can leave half-written files: `.lakelet-tmp-*`
 * files of a move into archive/ or quarantine/ (landing/, for requeue), in the state folder (a
 * manifest, a marker) and in the stage and target tables (`_delta_log/` too), staging
 * folders of a COPY in those tables, and the work folder of a batch marked done but not yet
 * cleared. Recovery never reads them; the next run, holding the pipeline's lock, removes the
 * abandoned ones (writer gone from this host, or unchanged for an hour: never a live writer's, such
 * as another process writing to the same target) and reports each folder it cleaned
 * (`temp.removed`, `work.removed`).
 */
export async function removeWriteLeftovers(rt: PipelineRuntime): Promise<void> {
  // Best effort: a folder that cannot be listed or a leftover that cannot be removed is reported
  // and left; it must not keep the pipeline from running.
  await bestEffort(rt.reporter, rt.pipeline.name, () => removeLeftoversOf(rt));
}

async function removeLeftoversOf(rt: PipelineRuntime): Promise<void> {
  const pipeline = rt.pipeline.name;
  // Moves into archive/ and quarantine/ (landing/, for requeue), and the state folder's manifests and markers.
  for (const store of [rt.archive, rt.quarantine, rt.landing, rt.state.store]) {
    const removed = (await store.removeStaleTemp?.()) ?? [];
    if (removed.length) rt.reporter.event('info', 'temp.removed', { pipeline, folder: store.uri, files: removed.length });
  }
  for (const t of (await rt.tables.removeWriteLeftovers?.()) ?? []) {
    rt.reporter.event('info', 'temp.removed', { pipeline, folder: t.table, files: t.removed.length });
  }
  const work = await removeFinishedWork(rt);
  if (work.removed.length) rt.reporter.event('info', 'work.removed', { pipeline, folder: work.root, batches: work.removed.length });
}

/** The ingestion log is shared by the config's pipelines: cleaned once per runner. */
export async function removeLogLeftovers(log: IngestionLogTable, reporter: Reporter): Promise<void> {
  await bestEffort(reporter, undefined, async () => {
    for (const t of (await log.removeWriteLeftovers?.()) ?? []) reporter.event('info', 'temp.removed', { folder: t.table, files: t.removed.length });
  });
}

async function bestEffort(reporter: Reporter, pipeline: string | undefined, clean: () => Promise<void>): Promise<void> {
  try {
    await clean();
  } catch (err) {
    reporter.event('warn', 'temp.cleanup-failed', { ...(pipeline ? { pipeline } : {}), error: err instanceof Error ? err.message : String(err) });
  }
}

/** Work folders of batches marked done (a kill between the marker and their removal left them). */
async function removeFinishedWork(rt: PipelineRuntime): Promise<{ root: string; removed: string[] }> {
  const root = dirname(batchWorkDir(rt.pipeline.stateDir, 0));
  const done = new Set(rt.state.all().filter((b) => b.done).map((b) => String(b.manifest.seq)));
  const removed: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (!done.has(name)) continue;
    await rm(join(root, name), { recursive: true, force: true });
    removed.push(join(root, name));
  }
  return { root, removed };
}
