import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sqlIdent, sqlString, type Compute } from '../adapters/compute/duckdb.ts';
import type { ObjectMeta, ObjectStore } from '../adapters/storage/object-store.ts';
import type { Clock, IdSource } from '../engine/clock.ts';
import { DeltaTable } from '../engine/table.ts';
import type { PipelineConfig } from './config.ts';
import { crashPoint } from './crash-points.ts';
import { FileRejectedError, PipelineStateError } from './errors.ts';
import { dropRawInputs, readRaw } from './file-reader.ts';
import { batchFolder, moveOnce, sha256 } from './file-mover.ts';
import type { BatchDone, BatchManifest, BatchState, ManifestFile } from './batch-state.ts';
import type { IngestionLog, LogRow } from './ingestion-log.ts';
import type { Reporter } from './reporter.ts';
import { checkFileSelect, fileSelect, LINEAGE, planFile, RESCUED, type Column, type FilePlan } from './stage-select.ts';
import { committedVersion } from './txn-version.ts';

/**
 * One batch of one pipeline, start to finish. The steps, each idempotent, each safe to redo after a
 * crash at any point:
 *
 *   plan        hash and validate every file; write the manifest (create-only)      → after-manifest
 *   quarantine  move rejected files to quarantine/ with <name>.error.json            → after-quarantine
 *   stage       append the batch's rows, txn lakelet:<p>:stage @ seq                  → after-stage-commit
 *   archive     move staged and duplicate files to archive/ (create-only, then delete) → after-archive
 *   target      MERGE the stage rows with _batch = seq, txn lakelet:<p>:target @ seq   → after-target-commit
 *   log         append the ingestion-log rows, txn lakelet:<p>:log @ seq              → after-log
 *   done        the manifest's done marker
 *
 * A redo decides from the txn versions in the tables whether a commit already happened, and from
 * the landing folder whether a file was already moved.
 */
export interface PipelineRuntime {
  pipeline: PipelineConfig;
  compute: Compute;
  clock: Clock;
  ids: IdSource;
  state: BatchState;
  /** The states of pipelines sharing the landing folder (json.path fan-out). */
  siblings: BatchState[];
  landing: ObjectStore;
  archive: ObjectStore;
  quarantine: ObjectStore;
  stage: DeltaTable;
  target?: DeltaTable;
  log: IngestionLog;
  reporter: Reporter;
}

export interface BatchOutcome {
  seq: number;
  recovered: boolean;
  files: number;
  staged: number;
  quarantined: number;
  duplicates: number;
  rowsStaged: number;
  rowsInserted: number;
  rowsUpdated: number;
  rowsDeleted: number;
  rowsRejected: number;
  stageVersion: number | null;
  targetVersion: number | null;
  ms: number;
}

export const stageAppId = (pipeline: string) => `lakelet:${pipeline}:stage`;
export const targetAppId = (pipeline: string) => `lakelet:${pipeline}:target`;

const DELETED = '__lakelet_deleted';
const ORDER = '__lakelet_order';

/** Stage columns without lineage (with `_rescued_data` when the stage has it). */
async function stageColumns(rt: PipelineRuntime): Promise<Column[] | undefined> {
  const snap = await rt.stage.tryLatest();
  if (!snap) return undefined;
  const scan = await rt.stage.scan({ version: snap.version });
  try {
    const cols = await rt.compute.query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM (${scan.sql})`);
    return cols.filter((c) => !(LINEAGE as readonly string[]).includes(c.column_name)).map((c) => ({ name: c.column_name, type: c.column_type }));
  } finally {
    await scan.release();
  }
}

export interface Prepared {
  plans: Map<string, FilePlan>;
  columns: Column[];
  firstSight: boolean;
}

/**
 * Validates the files the batch stages, in arrival order, against the stage's columns; returns
 * a plan per file, or the rejection for each file that cannot be staged.
 */
async function prepare(rt: PipelineRuntime, seq: number, files: { key: string }[], onFile?: (key: string) => void): Promise<Prepared & { rejected: Map<string, FileRejectedError>; readMs: Map<string, number> }> {
  const existing = await stageColumns(rt);
  const columns: Column[] = (existing ?? []).filter((c) => c.name !== RESCUED);
  const plans = new Map<string, FilePlan>();
  const rejected = new Map<string, FileRejectedError>();
  const readMs = new Map<string, number>();
  const firstSight = existing === undefined;
  let lastColumns: { name: string; type: string }[] | undefined;
  for (const [i, f] of files.entries()) {
    const started = Date.now();
    const local = rt.landing.localPath(f.key);
    if (!local) throw new PipelineStateError(rt.pipeline.name, `landing ${rt.landing.uri} is not on a local disk; only local landing folders are supported yet`);
    try {
      const raw = await readRaw(rt.compute, rt.pipeline, local, join(rt.pipeline.stateDir, 'work', String(seq)), String(i), lastColumns);
      if (raw.sql) lastColumns = raw.columns;
      const trial = [...columns];
      const plan = planFile(rt.pipeline, f.key, raw, trial, firstSight && columns.length === 0);
      if (raw.sql) await checkFileSelect(rt.compute, fileSelect(rt.pipeline, plan, trial, { batch: seq, ingestedAt: 0 }));
      columns.splice(0, columns.length, ...trial);
      plans.set(f.key, plan);
    } catch (err) {
      if (!(err instanceof FileRejectedError)) throw err;
      rejected.set(f.key, err);
    }
    readMs.set(f.key, Date.now() - started);
    onFile?.(f.key);
  }
  return { plans, columns, firstSight, rejected, readMs };
}

function hasRows(manifest: BatchManifest): boolean {
  return manifest.files.some((f) => f.outcome === 'stage' && (f.records ?? 0) > 0);
}

/** Plans a batch over landed files (already ordered): hashes, duplicate check, validation, manifest. */
export async function planBatch(rt: PipelineRuntime, candidates: ObjectMeta[]): Promise<{ manifest: BatchManifest; prepared: Prepared } | undefined> {
  // txn versions only grow: staging batch N+1 before batch N would make N look staged. So every
  // earlier batch must be in the stage table before a new one is planned.
  for (const m of rt.state.unfinished()) {
    if (hasRows(m) && (await committedVersion(rt.stage, stageAppId(rt.pipeline.name), m.seq)) === undefined) {
      throw new PipelineStateError(rt.pipeline.name, `batch ${m.seq} is planned but not staged yet; finish it first (lakelet run --once does).`);
    }
  }
  const seq = rt.state.nextSeq();
  const now = rt.clock.now();
  const id = rt.ids.uuid().replace(/-/g, '').slice(0, 8);
  const files: ManifestFile[] = [];
  for (const c of candidates) {
    let data: Uint8Array;
    try {
      data = await rt.landing.get(c.key);
    } catch {
      continue; // gone since it was listed
    }
    // Still being written (it grew since it was listed): the next run takes it.
    const now2 = await rt.landing.head(c.key);
    if (data.length !== c.size || !now2 || now2.size !== c.size || now2.lastModified !== c.lastModified) {
      rt.reporter.event('info', 'file.still-changing', { pipeline: rt.pipeline.name, file: c.key });
      continue;
    }
    const sum = sha256(data);
    // Fan-out: a file stays in landing until every pipeline reading the folder has taken it.
    if (rt.siblings.length > 0 && rt.state.tookFile(c.key, sum) && rt.siblings.some((s) => !s.tookFile(c.key, sum))) continue;
    const dupOf = rt.state.stagedBefore(c.key, sum);
    if (dupOf !== undefined) {
      files.push({ key: c.key, size: data.length, mtime: c.lastModified, sha256: sum, outcome: 'duplicate', duplicateOf: dupOf });
    } else {
      files.push({ key: c.key, size: data.length, mtime: c.lastModified, sha256: sum, outcome: 'stage' });
    }
  }
  if (files.length === 0) return undefined;
  const started = Date.now();
  const bar = rt.reporter.progress(`${rt.pipeline.name} batch ${seq}`, files.length);
  const toStage = files.filter((f) => f.outcome === 'stage');
  const prepared = await prepare(rt, seq, toStage, (key) => bar.tick(1, key));
  bar.stop();
  for (const f of toStage) {
    const rejection = prepared.rejected.get(f.key);
    if (rejection) {
      f.outcome = 'quarantine';
      f.error = { kind: rejection.kind, message: rejection.detail, ...(rejection.position ? { position: rejection.position } : {}), ...(rejection.hint ? { hint: rejection.hint } : {}) };
      continue;
    }
    const plan = prepared.plans.get(f.key)!;
    f.records = plan.raw.records;
    if (plan.raw.repaired.length) f.repaired = plan.raw.repaired;
  }
  const manifest: BatchManifest = {
    pipeline: rt.pipeline.name,
    seq,
    batchId: id,
    createdAt: now,
    ingestedAt: now,
    folder: batchFolder(now, id),
    files,
    readMs: Date.now() - started,
  };
  await rt.state.writeManifest(manifest);
  rt.reporter.event('info', 'batch.planned', {
    pipeline: rt.pipeline.name,
    batch: seq,
    files: files.length,
    stage: files.filter((f) => f.outcome === 'stage').length,
    quarantine: files.filter((f) => f.outcome === 'quarantine').length,
    duplicate: files.filter((f) => f.outcome === 'duplicate').length,
  });
  crashPoint('after-manifest', seq);
  return { manifest, prepared };
}

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
  metrics: { inserted: number; updated: number; deleted: number };
}

/** Starts (or, with `recovered`, resumes) the steps of a planned batch. */
export function beginBatch(rt: PipelineRuntime, manifest: BatchManifest, recovered: boolean): BatchProgress {
  if (recovered) rt.reporter.event('warn', 'batch.recover', { pipeline: rt.pipeline.name, batch: manifest.seq, message: 'finishing a batch an earlier run left unfinished' });
  return { manifest, recovered, started: Date.now(), movedTo: new Map(), stageVersion: null, stageMs: 0, targetVersion: null, mergeMs: 0, metrics: { inserted: 0, updated: 0, deleted: 0 } };
}

/** Runs (or, after a crash, finishes) every remaining step of a planned batch. */
export async function completeBatch(rt: PipelineRuntime, manifest: BatchManifest, prepared: Prepared | undefined): Promise<BatchOutcome> {
  const progress = beginBatch(rt, manifest, prepared === undefined);
  await quarantineStep(rt, progress);
  try {
    await stageStep(rt, progress, prepared);
  } finally {
    await dropRawInputs(rt.compute);
  }
  await archiveStep(rt, progress);
  await targetStep(rt, progress);
  return logStep(rt, progress);
}


/** Step 1: rejected files to quarantine/<folder>/ with <name>.error.json beside them. */
export async function quarantineStep(rt: PipelineRuntime, progress: BatchProgress): Promise<void> {
  const { manifest } = progress;
  const shared = rt.siblings.length > 0;
  for (const f of manifest.files.filter((x) => x.outcome === 'quarantine')) {
    const dest = `${manifest.folder}/${f.key}`;
    await rt.quarantine.putIfAbsent(`${dest}.error.json`, JSON.stringify(errorDocument(rt, manifest, f), null, 2) + '\n');
    const r = await moveOnce(rt.landing, f.key, rt.quarantine, dest, f.sha256, rt.pipeline.name, shared);
    if (r !== 'changed' && r !== 'missing') progress.movedTo.set(f.key, `${rt.quarantine.uri}/${dest}`);
    rt.reporter.event('warn', 'file.quarantined', { pipeline: rt.pipeline.name, batch: manifest.seq, file: f.key, kind: f.error?.kind, error: f.error?.message, line: f.error?.position?.line });
  }
  crashPoint('after-quarantine', manifest.seq);
}

/** Step 2: append the batch's rows to the stage table, once (txn lakelet:<p>:stage @ seq). */
export async function stageStep(rt: PipelineRuntime, progress: BatchProgress, prepared?: Prepared): Promise<void> {
  const { manifest } = progress;
  const { pipeline } = rt;
  const seq = manifest.seq;
  const stageFiles = manifest.files.filter((f) => f.outcome === 'stage');
  const started = Date.now();
  if (!hasRows(manifest)) return;
  const done = await committedVersion(rt.stage, stageAppId(pipeline.name), seq);
  if (done !== undefined) {
    progress.stageVersion = done;
  } else {
    let prep = prepared;
    if (!prep) {
      // A redo must stage the very bytes the manifest planned.
      for (const f of stageFiles) {
        const data = await rt.landing.get(f.key).catch(() => undefined);
        if (!data) throw new PipelineStateError(pipeline.name, `batch ${seq}: ${f.key} is no longer in ${pipeline.landing} but was never staged; put the file back (sha256 ${f.sha256}) and run again.`);
        if (sha256(data) !== f.sha256) throw new PipelineStateError(pipeline.name, `batch ${seq}: ${f.key} in ${pipeline.landing} changed since the batch was planned (sha256 ${f.sha256}); put the original back and run again.`);
      }
      const redo = await prepare(rt, seq, stageFiles);
      if (redo.rejected.size > 0) {
        const [key, err] = [...redo.rejected][0];
        throw new PipelineStateError(pipeline.name, `batch ${seq}: ${key} passed validation when planned but now fails (${err.message}); was it changed in ${pipeline.landing}?`);
      }
      prep = redo;
    }
    const selects = stageFiles
      .map((f) => prep!.plans.get(f.key)!)
      .filter((p) => p.raw.sql !== undefined)
      .map((p) => fileSelect(pipeline, p, prep!.columns, { batch: seq, ingestedAt: manifest.ingestedAt }));
    const sql = selects.map((x) => `(${x})`).join(' UNION ALL ');
    const result = await rt.stage
      .write({ sql })
      .mode('append')
      .mergeSchema(pipeline.schemaDrift === 'evolve')
      .properties(pipeline.stageProperties)
      .txn(stageAppId(pipeline.name), seq)
      .execute();
    progress.stageVersion = result.version;
    rt.reporter.event('info', 'batch.staged', { pipeline: pipeline.name, batch: seq, version: result.version, rows: result.metrics.numOutputRows, skipped: result.skipped });
  }
  progress.stageMs = Date.now() - started;
  crashPoint('after-stage-commit', seq);
}

/** Step 3: staged and duplicate files to archive/<folder>/. Shared landing: the last pipeline to take a file moves it. */
export async function archiveStep(rt: PipelineRuntime, progress: BatchProgress): Promise<void> {
  const { manifest } = progress;
  const shared = rt.siblings.length > 0;
  for (const f of manifest.files.filter((x) => x.outcome !== 'quarantine' || shared)) {
    if (shared && rt.siblings.some((s) => !s.tookFile(f.key, f.sha256))) continue;
    const dest = `${manifest.folder}/${f.key}`;
    const r = await moveOnce(rt.landing, f.key, rt.archive, dest, f.sha256, rt.pipeline.name);
    if ((r === 'moved' || r === 'already-moved') && f.outcome !== 'quarantine') progress.movedTo.set(f.key, `${rt.archive.uri}/${dest}`);
    if (r === 'missing' || r === 'changed') rt.reporter.event('warn', 'file.not-archived', { pipeline: rt.pipeline.name, batch: manifest.seq, file: f.key, reason: r });
    if (f.outcome === 'duplicate') rt.reporter.event('info', 'file.duplicate', { pipeline: rt.pipeline.name, batch: manifest.seq, file: f.key, duplicateOf: f.duplicateOf });
  }
  crashPoint('after-archive', manifest.seq);
}

/** Step 4: MERGE the batch's stage rows into the target, once (txn lakelet:<p>:target @ seq). */
export async function targetStep(rt: PipelineRuntime, progress: BatchProgress): Promise<void> {
  const { manifest } = progress;
  const started = Date.now();
  if (!rt.target || !hasRows(manifest)) return;
  if (progress.stageVersion === null) progress.stageVersion = (await committedVersion(rt.stage, stageAppId(rt.pipeline.name), manifest.seq)) ?? null;
  if (progress.stageVersion === null) throw new PipelineStateError(rt.pipeline.name, `batch ${manifest.seq} is not in the stage table yet; run the stage step first`);
  const done = await committedVersion(rt.target, targetAppId(rt.pipeline.name), manifest.seq);
  if (done === undefined) {
    for (const m of rt.state.unfinished()) {
      if (m.seq < manifest.seq && hasRows(m) && (await committedVersion(rt.target, targetAppId(rt.pipeline.name), m.seq)) === undefined) {
        throw new PipelineStateError(rt.pipeline.name, `batch ${m.seq} must be merged before batch ${manifest.seq} (txn versions only grow).`);
      }
    }
  }
  if (done !== undefined) {
    progress.targetVersion = done;
    progress.metrics = await mergeMetricsAt(rt.target, done);
  } else {
    const r = await mergeBatch(rt, manifest);
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
  if (rowsToStage && progress.stageVersion === null) progress.stageVersion = (await committedVersion(rt.stage, stageAppId(pipeline.name), seq)) ?? null;
  if (rowsToStage && rt.target && progress.targetVersion === null) {
    throw new PipelineStateError(pipeline.name, `batch ${seq} is not merged into the target yet; run the target step first`);
  }
  const applied = await rt.log.appliedVersion(pipeline.name);
  if (applied < seq) {
    const earlier = rt.state.unfinished().find((m) => m.seq < seq && applied < m.seq);
    if (earlier) throw new PipelineStateError(pipeline.name, `batch ${earlier.seq} must be logged before batch ${seq} (txn versions only grow).`);
  }
  const perFile = rowsToStage ? await stageCounts(rt, seq) : new Map<string, { rejected: number; rescued: number }>();
  const now = rt.clock.now();
  const totalMs = Date.now() - progress.started + (recovered ? 0 : manifest.readMs);
  const rows: LogRow[] = manifest.files.map((f) => ({
    pipeline: pipeline.name,
    batch: seq,
    file_name: f.key,
    size: f.size,
    sha256: f.sha256,
    records: f.records ?? 0,
    rows_rejected: perFile.get(f.key)?.rejected ?? 0,
    rows_rescued: perFile.get(f.key)?.rescued ?? 0,
    status: f.outcome === 'quarantine' ? 'quarantined' : f.outcome === 'duplicate' ? 'duplicate' : rt.target ? 'merged' : 'staged',
    stage_version: f.outcome === 'stage' ? progress.stageVersion : null,
    target_version: f.outcome === 'stage' ? progress.targetVersion : null,
    read_ms: recovered ? 0 : Math.round(manifest.readMs / Math.max(1, manifest.files.length)),
    stage_ms: f.outcome === 'stage' ? progress.stageMs : 0,
    merge_ms: f.outcome === 'stage' ? progress.mergeMs : 0,
    total_ms: totalMs,
    error: f.error ? `${f.error.kind}: ${f.error.message}${f.error.position ? ` (line ${f.error.position.line}, column ${f.error.position.column})` : ''}` : f.outcome === 'duplicate' ? `same name and sha256 as batch ${f.duplicateOf}` : null,
    repaired: (f.repaired?.length ?? 0) > 0,
    repairs: f.repaired?.length ? f.repaired.join('; ') : null,
    moved_to: progress.movedTo.get(f.key) ?? null,
    logged_at: now,
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
  await rm(join(pipeline.stateDir, 'work', String(seq)), { recursive: true, force: true });
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
    rowsRejected: [...perFile.values()].reduce((a, v) => a + v.rejected, 0),
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

/** Per file of the batch: stage rows whose key is NULL (not merged) and rows with rescued data. */
async function stageCounts(rt: PipelineRuntime, seq: number): Promise<Map<string, { rejected: number; rescued: number }>> {
  const scan = await rt.stage.scan({ where: `_batch = ${seq}` });
  try {
    const cols = await rt.compute.query<{ column_name: string }>(`DESCRIBE SELECT * FROM (${scan.sql})`);
    const hasRescue = cols.some((c) => c.column_name === RESCUED);
    const nullKey = rt.target && rt.pipeline.key.length ? rt.pipeline.key.map((k) => `${sqlIdent(k)} IS NULL`).join(' OR ') : 'false';
    const rows = await rt.compute.query<{ f: string; rejected: string | number; rescued: string | number }>(
      `SELECT _source_file AS f, count(*) FILTER (WHERE ${nullKey}) AS rejected, ${hasRescue ? `count(${RESCUED})` : '0'} AS rescued FROM (${scan.sql}) WHERE _batch = ${seq} GROUP BY 1`,
    );
    return new Map(rows.map((r) => [r.f, { rejected: Number(r.rejected), rescued: Number(r.rescued) }]));
  } finally {
    await scan.release();
  }
}

/**
 * MERGE the batch's stage rows into the target on the key: one row per key (the latest by
 * orderBy, then arrival order), deletes by the marker, and a row never replaced by an older one.
 */
async function mergeBatch(rt: PipelineRuntime, manifest: BatchManifest): Promise<{ version: number; metrics: { inserted: number; updated: number; deleted: number } }> {
  const { pipeline } = rt;
  const target = rt.target!;
  const seq = manifest.seq;
  const scan = await rt.stage.scan({ where: `_batch = ${seq}` });
  try {
    const cols = await rt.compute.query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM (${scan.sql})`);
    const marker = pipeline.deletes?.column;
    const business = cols.map((c) => c.column_name).filter((c) => !(LINEAGE as readonly string[]).includes(c) && c.toLowerCase() !== marker?.toLowerCase());
    const fileOrder = manifest.files.map((f, i) => `WHEN ${sqlString(f.key)} THEN ${i}`).join(' ');
    const markerPresent = marker && cols.some((c) => c.column_name.toLowerCase() === marker.toLowerCase());
    const deleted = markerPresent
      ? `coalesce(CAST(${sqlIdent(marker!)} AS VARCHAR) IN (${pipeline.deletes!.values.map((v) => sqlString(String(v))).join(', ')}), false)`
      : 'false';
    const order = `struct_pack(o := ${pipeline.orderBy ? sqlIdent(pipeline.orderBy) : 'NULL'}, f := CASE _source_file ${fileOrder} END, r := _row_number)`;
    const keyNotNull = pipeline.key.map((k) => `${sqlIdent(k)} IS NOT NULL`).join(' AND ');
    const source = `SELECT ${business.map(sqlIdent).join(', ')}, ${deleted} AS ${DELETED}, ${order} AS ${ORDER} FROM (${scan.sql}) WHERE _batch = ${seq} AND ${keyNotNull}`;

    // The target holds the business columns only: create it, or add columns the stage gained (evolve).
    const snap = await target.tryLatest();
    const businessSql = `SELECT ${business.map(sqlIdent).join(', ')} FROM (${source}) WHERE false`;
    if (!snap) {
      await target.write({ sql: businessSql }).partitionBy(...pipeline.partitionBy).properties(pipeline.targetProperties).execute();
    } else if (business.some((b) => !snap.schema.fields.some((f) => f.name.toLowerCase() === b.toLowerCase()))) {
      if (pipeline.schemaDrift === 'evolve') await target.write({ sql: businessSql }).mode('append').mergeSchema().execute();
    }
    const newer = pipeline.orderBy ? `(t.${sqlIdent(pipeline.orderBy)} IS NULL OR s.${sqlIdent(pipeline.orderBy)} >= t.${sqlIdent(pipeline.orderBy)})` : undefined;
    let merge = target.merge({ sql: source }, { on: pipeline.key }).dedupBy(ORDER);
    if (markerPresent) merge = merge.whenMatchedDelete(newer ? `s.${DELETED} AND ${newer}` : `s.${DELETED}`);
    merge = merge.whenMatchedUpdateAll(newer ? (markerPresent ? `NOT s.${DELETED} AND ${newer}` : newer) : markerPresent ? `NOT s.${DELETED}` : undefined);
    merge = merge.whenNotMatchedInsertAll(markerPresent ? `NOT s.${DELETED}` : undefined);
    const result = await merge.txn(targetAppId(pipeline.name), seq).execute();
    const m = result.metrics;
    rt.reporter.event('info', 'batch.merged', {
      pipeline: pipeline.name,
      batch: seq,
      version: result.version,
      sourceRows: m.numSourceRows,
      inserted: m.numTargetRowsInserted,
      updated: m.numTargetRowsUpdated,
      deleted: m.numTargetRowsDeleted,
      skipped: result.skipped,
    });
    if (result.skipped) return { version: (await committedVersion(target, targetAppId(pipeline.name), seq)) ?? result.version, metrics: await mergeMetricsAt(target, result.version) };
    return { version: result.version, metrics: { inserted: m.numTargetRowsInserted, updated: m.numTargetRowsUpdated, deleted: m.numTargetRowsDeleted } };
  } finally {
    await scan.release();
  }
}

/** The row counts a MERGE recorded in its commit (after a crash, from the table's history). */
async function mergeMetricsAt(table: DeltaTable, version: number): Promise<{ inserted: number; updated: number; deleted: number }> {
  const latest = await table.tryLatest();
  if (!latest) return { inserted: 0, updated: 0, deleted: 0 };
  const entries = await table.history(latest.version - version + 1);
  const e = entries.find((x) => x.version === version);
  const m = e?.operationMetrics ?? {};
  return { inserted: Number(m.numTargetRowsInserted ?? 0), updated: Number(m.numTargetRowsUpdated ?? 0), deleted: Number(m.numTargetRowsDeleted ?? 0) };
}
