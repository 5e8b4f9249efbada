import { utimes } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import type { ObjectStore } from '../adapters/storage/object-store.ts';
import { openStore } from '../adapters/storage/open-store.ts';
import type { Clock } from '../adapters/clock.ts';
import { InputError } from '../errors/lakelet-error.ts';
import { BatchState } from './batch-state.ts';
import type { PipelineConfig } from './config.ts';
import { moveOnce, sha256 } from './file-mover.ts';
import type { IngestionLogTable, LogRow } from './ingestion-log.ts';

/**
 * `lakelet requeue`: moves quarantined files back to their landing folder for another try (after
 * the cause was fixed: a config change, a widened type). What is quarantined comes from the
 * finished batches' manifests (not from listing quarantine/, which also holds .error.json and
 * bad-records files), and a file counts as still quarantined while its copy is there.
 *
 * Order, so that a crash at any point is redone by running requeue again and the log never
 * contradicts the folders:
 *   1. refuse a file whose name is taken in landing by other bytes (never overwrite a delivery);
 *   2. log a 'requeued' row (skipped when the file's latest row already says requeued);
 *   3. move it to landing (create-only), with its original mtime, so that it keeps its place in
 *      arrival order and counts as settled;
 *   4. note the requeue in its .error.json, which stays in quarantine as history.
 * No pipeline lock is needed: to a runner (or a running `watch`) the file is a new arrival.
 */
export interface QuarantinedFile {
  pipeline: PipelineConfig;
  batch: number;
  /** Its name in landing. */
  key: string;
  /** Where it is under the quarantine folder. */
  quarantineKey: string;
  size: number;
  mtime: number;
  sha256: string;
}

export interface RequeueOutcome {
  pipeline: string;
  batch: number;
  file: string;
  from: string;
  to: string;
  requeued: boolean;
  /** Why it was left in quarantine. */
  refused?: string;
  /** Its content was changed in quarantine since (fixed in place): that content is what went back. */
  fixedInPlace?: boolean;
}

/** Files of finished batches still in quarantine, oldest batch first. */
export async function quarantinedFiles(p: PipelineConfig): Promise<QuarantinedFile[]> {
  const state = new BatchState(p.name, p.stateDir);
  await state.load();
  const store = openStore(p.quarantine);
  const out: QuarantinedFile[] = [];
  for (const { manifest, done } of state.all()) {
    if (!done) continue; // the next run finishes (and logs) that batch first
    for (const f of manifest.files) {
      if (f.outcome !== 'quarantine') continue;
      const quarantineKey = `${manifest.folder}/${f.key}`;
      if (!(await store.head(quarantineKey))) continue;
      out.push({ pipeline: p, batch: manifest.seq, key: f.key, quarantineKey, size: f.size, mtime: f.mtime, sha256: f.sha256 });
    }
  }
  return out;
}

/**
 * The quarantined files that `names` designate: a path to the file in quarantine, or its name in
 * landing (which must then be unambiguous).
 */
export function selectFiles(all: QuarantinedFile[], names: string[]): QuarantinedFile[] {
  const picked = new Set<QuarantinedFile>();
  for (const name of names) {
    const byPath = all.filter((q) => {
      const rel = relative(q.pipeline.quarantine, resolve(name));
      return !rel.startsWith('..') && !isAbsolute(rel) && rel.split(/[\\/]/).join('/') === q.quarantineKey;
    });
    const byKey = byPath.length ? byPath : all.filter((q) => q.key === name || q.key.split('/').pop() === name);
    if (byKey.length === 0) {
      throw new InputError(`${name} is not a quarantined file of ${[...new Set(all.map((q) => q.pipeline.name))].join(', ') || 'these pipelines'} (none, or already requeued); 'lakelet status' lists quarantined files.`);
    }
    if (byKey.length > 1) {
      throw new InputError(`${name} is in quarantine ${byKey.length} times (${byKey.map((q) => `${q.pipeline.quarantine}/${q.quarantineKey}`).join(', ')}); name the one to requeue by its path.`);
    }
    picked.add(byKey[0]);
  }
  return [...picked];
}

export async function requeueFiles(files: QuarantinedFile[], log: IngestionLogTable, clock: Clock): Promise<RequeueOutcome[]> {
  const outcomes: RequeueOutcome[] = [];
  const go: { q: QuarantinedFile; sha: string; landing: ObjectStore; quarantine: ObjectStore; outcome: RequeueOutcome }[] = [];
  const claimed = new Set<string>();
  for (const q of files) {
    const landing = openStore(q.pipeline.landing);
    const quarantine = openStore(q.pipeline.quarantine);
    const outcome: RequeueOutcome = { pipeline: q.pipeline.name, batch: q.batch, file: q.key, from: `${q.pipeline.quarantine}/${q.quarantineKey}`, to: `${q.pipeline.landing}/${q.key}`, requeued: false };
    outcomes.push(outcome);
    // What goes back is what is in quarantine now: the README's way to fix a file is to edit it
    // there, so its content may no longer be the one the batch quarantined.
    const content = await quarantine.get(q.quarantineKey).catch(() => undefined);
    if (content === undefined) {
      outcome.refused = 'it is no longer in quarantine (moved or deleted since it was listed).';
      continue;
    }
    const sha = sha256(content);
    if (sha !== q.sha256) outcome.fixedInPlace = true;
    // 1. A landing file of the same name: the same bytes are a requeue a crash interrupted; other bytes are a delivery.
    const there = await landing.head(q.key);
    const slot = `${q.pipeline.landing}\0${q.key}`;
    if ((there && sha256(await landing.get(q.key)) !== sha) || claimed.has(slot)) {
      outcome.refused = `${outcome.to} already exists with other content; requeue never overwrites a landed file. Wait until it is loaded (or move it away), then requeue again.`;
      continue;
    }
    claimed.add(slot);
    go.push({ q, sha, landing, quarantine, outcome });
  }
  // 2. The history first: a crash after this leaves the file in quarantine, and requeue again does not log twice.
  const rows: LogRow[] = [];
  const now = clock.now();
  const logged = go.length ? await log.read() : []; // newest first
  // The row names the quarantined delivery (its bytes then), whose quarantine it takes back in the
  // counts; a fixed file's new bytes are a delivery of their own when the next run takes them.
  for (const { q, landing } of go) {
    const latest = logged.find((r) => r.pipeline === q.pipeline.name && r.file_name === q.key && r.sha256 === q.sha256);
    if (latest?.status === 'requeued') continue;
    rows.push({
      pipeline: q.pipeline.name, batch: q.batch, file_name: q.key, size: q.size, sha256: q.sha256, records: 0, rows_rejected: 0, rows_rescued: 0,
      status: 'requeued', stage_version: null, target_version: null, read_ms: 0, stage_ms: 0, merge_ms: 0, total_ms: 0,
      error: null, repaired: false, repairs: null, moved_to: `${landing.uri}/${q.key}`, logged_at: now,
    });
  }
  if (rows.length) await log.record(rows);
  for (const { q, sha, landing, quarantine, outcome } of go) {
    // 3. Create-only into landing, then removed from quarantine. Changed again (or gone) since it
    // was read above: left where it is, and said so; requeue again takes the new content.
    const moved = await moveOnce(quarantine, q.quarantineKey, landing, q.key, sha, q.pipeline.name);
    if (moved === 'changed' || moved === 'missing') {
      outcome.refused = moved === 'changed' ? 'it changed in quarantine while being requeued (still being edited?); requeue it again once saved.' : 'it is no longer in quarantine (moved away while being requeued).';
      continue;
    }
    const local = landing.localPath(q.key);
    if (local) await utimes(local, new Date(q.mtime), new Date(q.mtime)).catch(() => {});
    // 4. The .error.json stays as the record of why it was quarantined, and says it was requeued.
    const errorKey = `${q.quarantineKey}.error.json`;
    let doc: Record<string, unknown> = {};
    try {
      doc = JSON.parse(new TextDecoder().decode(await quarantine.get(errorKey))) as Record<string, unknown>;
    } catch {
      // missing or unreadable: write what we know
    }
    const history = Array.isArray(doc.requeued) ? doc.requeued : [];
    await quarantine.put(errorKey, JSON.stringify({ ...doc, requeued: [...history, { at: new Date(now).toISOString(), to: outcome.to }] }, null, 2) + '\n');
    outcome.requeued = true;
  }
  return outcomes;
}
