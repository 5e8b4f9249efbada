import { rm } from 'node:fs/promises';
import { sqlString } from '../adapters/compute/sql.ts';
import { LocalObjectStore } from '../adapters/storage/local/local-object-store.ts';
import type { LogRow, MergeCounts } from '../warehouse/warehouse.ts';
import { markersToArchive } from './arrival.ts';
import { earlierBatchesFirst, hasRows, workDir, type BatchOutcome, type PipelineRuntime } from './batch.ts';
import { prepareFromLanding, type Prepared } from './batch-prepare.ts';
import type { BatchDone, BatchManifest, ManifestFile } from './batch-state.ts';
import { badRecordsDocument, badRecordsKey } from './bad-records.ts';
import { crashPoint } from './crash-points.ts';
import { loadErrorsDocument } from './direct-load.ts';
import { PipelineStateError } from './errors.ts';
import { dropRawInputs } from './file-reader.ts';
import { moveOnce, sha256 } from './file-mover.ts';
import { batchSelects } from './group-select.ts';
import { inTurns } from './in-turns.ts';
import { rejectionError } from './reject-hints.ts';

/**
 * The steps of a planned batch (see batch.ts for the whole sequence), each idempotent: quarantine,
 * stage, archive, target, log. `completeBatch` runs the remaining ones; notebooks call them one by one.
 */
/** What the steps of one batch have done so far (in memory; the durable truth is in the tables). */
export interface BatchProgress {
  manifest: BatchManifest;
  recovered: boolean;
  started: number;
  movedTo: Map<string, string>;
  stageVersion: number | null;
  stageMs: number;
  targetVersion: number | null;
  mergeMs: number;
  metrics: MergeCounts;
  /**
   * The query the stage step appended, over the batch's raw inputs in DuckDB, when this step
   * staged the batch itself (not a redo) and the batch is small enough to keep them until the
   * MERGE (HOLD_ROWS_BYTES); completeBatch hands it to the target step.
   */
  heldRows?: string;
}

/** Target rows a batch's MERGE inserted, updated and deleted (by markers), and stage rows its dedup collapsed. */
export type { MergeCounts };

/** Starts (or, with `recovered`, resumes) the steps of a planned batch. */
export function beginBatch(rt: PipelineRuntime, manifest: BatchManifest, recovered: boolean): BatchProgress {
  if (recovered) rt.reporter.event('warn', 'batch.recover', { pipeline: rt.pipeline.name, batch: manifest.seq, message: 'finishing a batch an earlier run left unfinished' });
  return { manifest, recovered, started: Date.now(), movedTo: new Map(), stageVersion: null, stageMs: 0, targetVersion: null, mergeMs: 0, metrics: { inserted: 0, updated: 0, deleted: 0, deduplicated: 0 } };
}

/** Runs (or, after a crash, finishes) every remaining step of a planned batch. */
export async function completeBatch(rt: PipelineRuntime, manifest: BatchManifest, prepared: Prepared | undefined): Promise<BatchOutcome> {
  const progress = beginBatch(rt, manifest, prepared === undefined);
  // The raw inputs stay in DuckDB until the MERGE has read the batch's rows from them (heldRows).
  try {
    const prep = await quarantineStep(rt, progress, prepared);
    await stageStep(rt, progress, prep);
    if (progress.heldRows === undefined) await dropRawInputs(rt.compute);
    await archiveStep(rt, progress);
    await targetStep(rt, progress, progress.heldRows);
  } finally {
    progress.heldRows = undefined;
    await dropRawInputs(rt.compute);
  }
  return logStep(rt, progress);
}


/**
 * Step 1: rejected files to quarantine/<folder>/ with <name>.error.json beside them, and the bad
 * records of staged files to <name>.bad-records.ndjson. Returns the batch's plans when it had to
 * read the files again for those (a redo), so the stage step need not.
 */
export async function quarantineStep(rt: PipelineRuntime, progress: BatchProgress, prepared?: Prepared): Promise<Prepared | undefined> {
  const { manifest } = progress;
  const shared = rt.siblings.length > 0;
  for (const f of manifest.files.filter((x) => x.outcome === 'quarantine')) await quarantineFile(rt, progress, f, shared);
  const prep = await badRecordsStep(rt, manifest, prepared);
  crashPoint('after-quarantine', manifest.seq);
  return prep;
}

/** One rejected file to quarantine/<folder>/, its <name>.error.json beside it (each part once). */
async function quarantineFile(rt: PipelineRuntime, progress: BatchProgress, f: ManifestFile, shared: boolean): Promise<void> {
  const { manifest } = progress;
  const dest = `${manifest.folder}/${f.key}`;
  await rt.quarantine.putIfAbsent(`${dest}.error.json`, JSON.stringify(errorDocument(rt, manifest, f), null, 2) + '\n');
  const r = await moveOnce(rt.landing, f.key, rt.quarantine, dest, f.sha256, rt.pipeline.name, { keepSource: shared, planned: { size: f.size, mtime: f.mtime } });
  if (r !== 'changed' && r !== 'missing') progress.movedTo.set(f.key, `${rt.quarantine.uri}/${dest}`);
  rt.reporter.event('warn', 'file.quarantined', { pipeline: rt.pipeline.name, batch: manifest.seq, file: f.key, kind: f.error?.kind, error: f.error?.message, line: f.error?.position?.line });
}

/**
 * Writes each staged file's left-out bad records (create-only, before the stage commit). A redo
 * reads the batch's files again to rebuild them: the same bytes give the same records.
 */
async function badRecordsStep(rt: PipelineRuntime, manifest: BatchManifest, prepared: Prepared | undefined): Promise<Prepared | undefined> {
  let missing = false;
  for (const f of manifest.files.filter((x) => x.outcome === 'stage' && x.bad)) {
    rt.reporter.event('warn', 'file.bad-records', { pipeline: rt.pipeline.name, batch: manifest.seq, file: f.key, records: f.bad!.records, leftOut: f.bad!.leftOut, error: f.bad!.summary });
    const dest = badRecordsKey(manifest.folder, f.key);
    if (f.bad!.leftOut === 0 || (await rt.quarantine.head(dest))) continue;
    if (f.loadJob) await rt.quarantine.putIfAbsent(dest, loadErrorsDocument(f));
    else missing = true;
  }
  if (!missing) return prepared;
  let prep = prepared;
  if (!prep) {
    const stageFiles = manifest.files.filter((x) => x.outcome === 'stage' && !x.loadJob);
    // Gone or changed since planned: the stage step says what to do about it.
    let changed = false;
    const redo = await prepareFromLanding(rt, manifest.seq, stageFiles, sha256, async () => {
      changed = true;
    });
    // A file that passed when planned but fails now: the stage step's redo handles it, and writes
    // the documents of the files that stay.
    if (changed || redo.rejected.size > 0) return prepared;
    prep = redo;
  }
  await writeMissingBadRecords(rt, manifest, prep);
  return prep;
}

/** The bad-records documents of the batch's staged files that are not written yet, from a redo's plans of their planned bytes. */
async function writeMissingBadRecords(rt: PipelineRuntime, manifest: BatchManifest, prep: Prepared): Promise<void> {
  for (const f of manifest.files.filter((x) => x.outcome === 'stage' && !x.loadJob && x.bad && x.bad.leftOut > 0)) {
    const dest = badRecordsKey(manifest.folder, f.key);
    const plan = prep.plans.get(f.key);
    if (!plan || (await rt.quarantine.head(dest))) continue;
    await rt.quarantine.putIfAbsent(dest, badRecordsDocument(f.key, plan.bad));
  }
}

/** Step 2: append the batch's rows to the stage table, once (txn lakelet:<p>:stage @ seq). */
export async function stageStep(rt: PipelineRuntime, progress: BatchProgress, prepared?: Prepared): Promise<void> {
  const { manifest } = progress;
  const { pipeline } = rt;
  const seq = manifest.seq;
  // Files the warehouse loaded itself when the batch was planned (direct-load.ts) are not read here.
  const stageFiles = manifest.files.filter((f) => f.outcome === 'stage' && !f.loadJob);
  const remote = manifest.files.filter((f) => f.outcome === 'stage' && f.loadJob).map((f) => ({ key: f.key, index: f.loadJob!.index }));
  const started = Date.now();
  if (!hasRows(manifest)) return;
  const done = await rt.tables.ledger.stageVersion(seq);
  if (done !== undefined) {
    progress.stageVersion = done;
  } else {
    let prep = prepared;
    if (!prep) {
      // A redo must stage the very bytes the manifest planned. A file overwritten since is a new
      // delivery: the planned bytes are gone, so the batch goes on without it and a later batch
      // takes the new content.
      const redo = await prepareFromLanding(rt, seq, [...stageFiles], sha256, async (key, now) => {
        const f = stageFiles.find((x) => x.key === key)!;
        if (!now) throw new PipelineStateError(pipeline.name, `batch ${seq}: ${key} is no longer in ${pipeline.landing} but was never staged; put the file back (sha256 ${f.sha256}) and run again.`);
        const reason = `overwritten in ${pipeline.landing} after batch ${seq} was planned and before it was staged: the planned bytes (sha256 ${f.sha256}) are gone; the new content (sha256 ${now.sha256}) is taken as a new delivery`;
        await rt.state.replace(seq, key, reason);
        stageFiles.splice(stageFiles.indexOf(f), 1);
        rt.reporter.event('warn', 'file.replaced', { pipeline: pipeline.name, batch: seq, file: key, reason });
      });
      // Refused now with the very bytes planned (a file changed since was taken out above): a
      // batch planned by an older lakelet whose stage commit failed on the file. Quarantined, so
      // the batch goes on without it instead of failing the same way on every run.
      for (const [key, err] of redo.rejected) {
        const f = stageFiles.find((x) => x.key === key)!;
        await rt.state.reject(seq, key, rejectionError(err, key, pipeline));
        stageFiles.splice(stageFiles.indexOf(f), 1);
        rt.reporter.event('warn', 'file.rejected-on-redo', { pipeline: pipeline.name, batch: seq, file: key, error: err.message });
        // With its copies in this batch (reject turned them from duplicates into rejects too).
        for (const q of manifest.files.filter((x) => x.outcome === 'quarantine' && x.sha256 === f.sha256)) {
          await quarantineFile(rt, progress, q, rt.siblings.length > 0);
        }
      }
      // badRecordsStep leaves a redo with changed or refused files to this step: the documents of
      // the files that stay are written here, before the commit (those already there are kept).
      await writeMissingBadRecords(rt, manifest, redo);
      if (!hasRows(manifest)) {
        progress.stageMs = Date.now() - started;
        return;
      }
      prep = redo;
    }
    const plans = stageFiles.map((f) => prep!.plans.get(f.key)!).filter((p) => p.raw.sql !== undefined);
    // Files read together (one temp table) are staged by one SELECT over it (group-select.ts).
    const selects = batchSelects(pipeline, plans.map((plan) => ({ plan, columns: prep!.columns })), { batch: seq, ingestedAt: manifest.ingestedAt }).map((p) => p.sql);
    const query = selects.length ? selects.map((x) => `(${x})`).join(' UNION ALL ') : undefined;
    // A warehouse on this Compute (Delta) appends the query itself; others get the batch as Parquet
    // (what a BigQuery load job takes as well).
    const direct = query !== undefined && rt.tables.stagesQuery === true;
    const work = new LocalObjectStore(workDir(rt, seq));
    const file = 'stage.parquet';
    if (query !== undefined && !direct) {
      await work.put(file, new Uint8Array());
      await rt.compute.run(`COPY (${query}) TO ${sqlString(work.localPath(file)!)} (FORMAT parquet, COMPRESSION zstd)`);
    }
    const result = await rt.tables.stage({
      seq,
      files: query !== undefined && !direct ? [{ store: work, key: file }] : [],
      ...(direct ? { query } : {}),
      addColumns: pipeline.schemaDrift === 'evolve' || pipeline.badRecords === 'rescue',
      ...(remote.length ? { remote, ingestedAt: manifest.ingestedAt } : {}),
    });
    progress.stageVersion = result.version;
    // Rows another process staged (skipped) were not read from these inputs: the MERGE reads the stage.
    const held = manifest.files.reduce((n, f) => n + (f.outcome === 'stage' ? f.size : 0), 0) <= HOLD_ROWS_BYTES;
    if (direct && !result.skipped && held) progress.heldRows = query;
    rt.reporter.event('info', 'batch.staged', { pipeline: pipeline.name, batch: seq, version: result.version, rows: result.rows, skipped: result.skipped || undefined });
  }
  progress.stageMs = Date.now() - started;
  crashPoint('after-stage-commit', seq);
}

/** Step 3: staged and duplicate files to archive/<folder>/. Shared landing: the last pipeline to take a file moves it. */
export async function archiveStep(rt: PipelineRuntime, progress: BatchProgress): Promise<void> {
  const { manifest } = progress;
  const shared = rt.siblings.length > 0;
  const files = manifest.files.filter((x) => x.outcome !== 'replaced' && (x.outcome !== 'quarantine' || shared) && !(shared && rt.siblings.some((s) => !s.tookFile(x.key, x.sha256))));
  // Each move is on its own once-only and redoable, so a few run at a time (a batch of small files
  // paid one round of syscalls, or of requests to a bucket, per file in turn); events stay in order.
  const results = await inTurns(files, ARCHIVE_MOVES_AT_ONCE, (f) => moveOnce(rt.landing, f.key, rt.archive, `${manifest.folder}/${f.key}`, f.sha256, rt.pipeline.name, { planned: { size: f.size, mtime: f.mtime } }));
  for (const [i, f] of files.entries()) {
    const r = results[i];
    if ((r === 'moved' || r === 'already-moved' || r === 'copied') && f.outcome !== 'quarantine') progress.movedTo.set(f.key, `${rt.archive.uri}/${manifest.folder}/${f.key}`);
    if (r === 'missing' || r === 'changed') rt.reporter.event('warn', 'file.not-archived', { pipeline: rt.pipeline.name, batch: manifest.seq, file: f.key, reason: r });
    if (f.outcome === 'duplicate') rt.reporter.event('info', 'file.duplicate', { pipeline: rt.pipeline.name, batch: manifest.seq, file: f.key, duplicateOf: f.duplicateOf });
  }
  const left = manifest.files.filter((f) => f.outcome !== 'replaced').map((f) => f.key);
  for (const marker of await markersToArchive(rt.landing, rt.pipeline, left)) {
    const data = await rt.landing.get(marker).catch(() => undefined);
    if (data) await moveOnce(rt.landing, marker, rt.archive, `${manifest.folder}/${marker}`, sha256(data), rt.pipeline.name);
  }
  crashPoint('after-archive', manifest.seq);
}

const ARCHIVE_MOVES_AT_ONCE = 8;

/**
 * A batch of landed files up to this size keeps its raw inputs in DuckDB from the stage step to
 * the MERGE, which then reads its rows there rather than from the stage files just written; a
 * bigger one lets them go after staging (held, they would sit beside the MERGE's own temp tables
 * of the same rows), and its MERGE reads the stage table.
 */
const HOLD_ROWS_BYTES = 64 * 1024 * 1024;

/**
 * Step 4: MERGE the batch's stage rows into the target, once (txn lakelet:<p>:target @ seq).
 * `heldRows`: the stage step's query, its inputs still in DuckDB (completeBatch): the MERGE reads
 * the rows there; without it, from the stage table.
 */
export async function targetStep(rt: PipelineRuntime, progress: BatchProgress, heldRows?: string): Promise<void> {
  const { manifest } = progress;
  const started = Date.now();
  if (!rt.tables.hasTarget || !hasRows(manifest)) return;
  const { ledger } = rt.tables;
  if (progress.stageVersion === null) progress.stageVersion = (await ledger.stageVersion(manifest.seq)) ?? null;
  if (progress.stageVersion === null) throw new PipelineStateError(rt.pipeline.name, `batch ${manifest.seq} is not in the stage table yet; run the stage step first`);
  const done = await ledger.targetVersion(manifest.seq);
  if (done !== undefined) {
    progress.targetVersion = done;
    progress.metrics = await ledger.mergeCounts(done);
  } else {
    await earlierBatchesFirst(rt, 'target', manifest.seq);
    const r = await mergeBatch(rt, manifest, heldRows);
    progress.targetVersion = r.version;
    progress.metrics = r.metrics;
  }
  progress.mergeMs = Date.now() - started;
  crashPoint('after-target-commit', manifest.seq);
}

/** Steps 5 and 6: the ingestion-log rows (once: txn lakelet:<p>:log @ seq), then the done marker. */
export async function logStep(rt: PipelineRuntime, progress: BatchProgress): Promise<BatchOutcome> {
  const { manifest, recovered } = progress;
  const { pipeline } = rt;
  const seq = manifest.seq;
  const rowsToStage = hasRows(manifest);
  if (rowsToStage && progress.stageVersion === null) progress.stageVersion = (await rt.tables.ledger.stageVersion(seq)) ?? null;
  if (rowsToStage && rt.tables.hasTarget && progress.targetVersion === null) {
    throw new PipelineStateError(pipeline.name, `batch ${seq} is not merged into the target yet; run the target step first`);
  }
  await earlierBatchesFirst(rt, 'log', seq);
  const perFile = rowsToStage ? await rt.tables.stageCounts(seq, rt.tables.hasTarget ? pipeline.key : []) : new Map<string, { rejected: number; rescued: number }>();
  const now = rt.clock.now();
  const totalMs = Date.now() - progress.started + (recovered ? 0 : manifest.readMs);
  const rows: LogRow[] = manifest.files.map((f) => ({
    pipeline: pipeline.name,
    batch: seq,
    file_name: f.key,
    size: f.size,
    sha256: f.sha256,
    records: f.records ?? 0,
    rows_rejected: (perFile.get(f.key)?.rejected ?? 0) + (f.outcome === 'stage' ? (f.bad?.leftOut ?? 0) : 0),
    rows_rescued: perFile.get(f.key)?.rescued ?? 0,
    status: f.outcome === 'quarantine' ? 'quarantined' : f.outcome === 'duplicate' ? 'duplicate' : f.outcome === 'replaced' ? 'replaced' : rt.tables.hasTarget ? 'merged' : 'staged',
    stage_version: f.outcome === 'stage' ? progress.stageVersion : null,
    target_version: f.outcome === 'stage' ? progress.targetVersion : null,
    read_ms: recovered ? 0 : Math.round(manifest.readMs / Math.max(1, manifest.files.length)),
    stage_ms: f.outcome === 'stage' ? progress.stageMs : 0,
    merge_ms: f.outcome === 'stage' ? progress.mergeMs : 0,
    total_ms: totalMs,
    error: f.error ? `${f.error.kind}: ${f.error.message}${f.error.position ? ` (line ${f.error.position.line}, column ${f.error.position.column})` : ''}` : f.outcome === 'duplicate'
        ? `same content (sha256) as ${f.duplicateName ? `${f.duplicateName} in ` : ''}batch ${f.duplicateOf}`
        : f.outcome === 'replaced'
          ? (f.replaced ?? 'overwritten before it was staged')
          : f.outcome === 'stage' && f.bad
            ? f.bad.summary
            : null,
    repaired: (f.repaired?.length ?? 0) > 0,
    repairs: f.repaired?.length ? f.repaired.join('; ') : null,
    moved_to: progress.movedTo.get(f.key) ?? null,
    logged_at: now,
    // A big file identified by its listing (a duplicate is not loaded at all) took the load-job path too.
    load_path: f.loadJob || /^(md5|gen):/.test(f.sha256) ? 'load-job' : 'in-process',
  }));
  const logVersion = await rt.log.append(pipeline.name, seq, rows);
  crashPoint('after-log', seq);
  const done: BatchDone = {
    seq,
    finishedAt: now,
    stageVersion: progress.stageVersion,
    targetVersion: progress.targetVersion,
    logVersion,
    rowsInserted: progress.metrics.inserted,
    rowsUpdated: progress.metrics.updated,
    rowsDeleted: progress.metrics.deleted,
    recovered,
  };
  await rt.state.markDone(done);
  await rm(workDir(rt, seq), { recursive: true, force: true });
  const stageFiles = manifest.files.filter((f) => f.outcome === 'stage');
  const outcome: BatchOutcome = {
    seq,
    recovered,
    files: manifest.files.length,
    staged: stageFiles.length,
    quarantined: manifest.files.filter((f) => f.outcome === 'quarantine').length,
    duplicates: manifest.files.filter((f) => f.outcome === 'duplicate').length,
    rowsStaged: stageFiles.reduce((a, f) => a + (f.records ?? 0), 0),
    rowsInserted: progress.metrics.inserted,
    rowsUpdated: progress.metrics.updated,
    rowsDeleted: progress.metrics.deleted,
    rowsDeduplicated: progress.metrics.deduplicated,
    // Null-key stage rows, and bad records left out of the stage.
    rowsRejected: rows.reduce((a, r) => a + r.rows_rejected, 0),
    stageVersion: progress.stageVersion,
    targetVersion: progress.targetVersion,
    ms: Date.now() - progress.started,
  };
  rt.reporter.event('info', 'batch.done', { pipeline: pipeline.name, ...outcome });
  return outcome;
}

function errorDocument(rt: PipelineRuntime, manifest: BatchManifest, f: ManifestFile): Record<string, unknown> {
  return {
    pipeline: rt.pipeline.name,
    batch: manifest.seq,
    file: f.key,
    landing: rt.pipeline.landing,
    size: f.size,
    sha256: f.sha256,
    format: rt.pipeline.format,
    kind: f.error?.kind,
    error: f.error?.message,
    ...(f.error?.position ? { line: f.error.position.line, column: f.error.position.column } : {}),
    ...(f.error?.hint ? { hint: f.error.hint } : {}),
    quarantinedAt: new Date(manifest.createdAt).toISOString(),
  };
}

/**
 * MERGE the batch's stage rows into the target (warehouse upsert): one row per key (the latest by
 * orderBy, then arrival order), deletes by the marker, no older row replacing or resurrecting.
 */
async function mergeBatch(rt: PipelineRuntime, manifest: BatchManifest, heldRows: string | undefined): Promise<{ version: number; metrics: MergeCounts }> {
  const { pipeline } = rt;
  const seq = manifest.seq;
  const result = await rt.tables.upsert(
    {
      seq,
      key: pipeline.key,
      ...(pipeline.orderBy ? { orderBy: pipeline.orderBy } : {}),
      ...(pipeline.deletes ? { deletes: pipeline.deletes } : {}),
      partitionBy: pipeline.partitionBy,
      fileOrder: manifest.files.map((f) => f.key),
      addColumns: pipeline.schemaDrift === 'evolve',
      ...(heldRows !== undefined ? { heldRows } : {}),
    },
    (count) => {
      if (count > 0) rt.reporter.event('info', 'batch.tombstones', { pipeline: pipeline.name, batch: seq, keys: count });
      crashPoint('after-tombstones', seq);
    },
  );
  const m = result.metrics;
  rt.reporter.event('info', 'batch.merged', { pipeline: pipeline.name, batch: seq, version: result.version, inserted: m.inserted, updated: m.updated, deleted: m.deleted, deduplicated: m.deduplicated, skipped: result.skipped || undefined });
  return { version: result.version, metrics: m };
}
