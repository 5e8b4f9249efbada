import { randomUUID } from 'node:crypto';
import type { ObjectStore } from '../adapters/storage/object-store.ts';
import { processAlive } from '../adapters/process-alive.ts';
import { openStore } from '../adapters/storage/open-store.ts';
import { PipelineBusyError, PipelineStateError, type TextPosition } from './errors.ts';

/**
 * A pipeline's durable state: one manifest per batch, written (create-only) before anything of the
 * batch is committed, and a `done` marker written last. Together with the txn versions in the
 * stage, target and ingestion-log tables they say exactly how far each batch got:
 *
 *   <stateDir>/<pipeline>/batches/<seq>.json        the plan: files, checksums, outcome per file
 *   <stateDir>/<pipeline>/batches/<seq>.amend.json  files taken out of a planned batch before it
 *                                                   was staged (overwritten in landing meanwhile)
 *   <stateDir>/<pipeline>/batches/<seq>.done.json   the batch finished (ingestion log written)
 *   <stateDir>/<pipeline>/lock                      the process running the pipeline
 */
export type FileOutcome = 'stage' | 'quarantine' | 'duplicate' | 'replaced';

export interface ManifestFile {
  /** Path relative to the landing folder. */
  key: string;
  size: number;
  mtime: number;
  sha256: string;
  outcome: FileOutcome;
  records?: number;
  rescued?: number;
  repaired?: string[];
  error?: { kind: string; message: string; position?: TextPosition; hint?: string };
  /** A staged file's bad records: how many, how many were left out of the stage (quarantine-file), the first. */
  bad?: { records: number; leftOut: number; summary: string };
  /** For a duplicate: the batch that merged the same content before. */
  duplicateOf?: number;
  /** For a duplicate: the file name it was applied under, when another. */
  duplicateName?: string;
  /** For a replaced file: why it left the batch (see BatchState.replace). */
  replaced?: string;
  /**
   * Loaded by the warehouse straight from its URI (direct-load.ts): the load's table index in the
   * batch and the job's error list. `sha256` then holds the listing's identity (`md5:…` or `gen:…`).
   */
  loadJob?: { index: number; errors: { reason?: string; location?: string; message?: string }[] };
}

/** Files taken out of a planned batch: the manifest is create-only, so changes live beside it. */
interface Amendment {
  seq: number;
  replaced: { key: string; sha256: string; reason: string }[];
  /** Planned to be staged, but refused when the batch was redone (BatchState.reject). */
  rejected?: { key: string; sha256: string; error: NonNullable<ManifestFile['error']> }[];
}

export interface BatchManifest {
  pipeline: string;
  seq: number;
  batchId: string;
  createdAt: number;
  /** The `_ingested_at` of every stage row of the batch (fixed here so a redo writes the same rows). */
  ingestedAt: number;
  /** `<yyyy>/<mm>/<dd>/<timestamp>-<id>`: the batch's folder under archive/ and quarantine/. */
  folder: string;
  files: ManifestFile[];
  readMs: number;
}

export interface BatchDone {
  seq: number;
  finishedAt: number;
  stageVersion: number | null;
  targetVersion: number | null;
  logVersion: number | null;
  rowsInserted: number;
  rowsUpdated: number;
  rowsDeleted: number;
  recovered: boolean;
}

const pad = (seq: number) => String(seq).padStart(12, '0');

export class BatchState {
  readonly store: ObjectStore;
  private manifests = new Map<number, BatchManifest>();
  private done = new Map<number, BatchDone>();
  private amendments = new Map<number, Amendment>();
  private loaded = false;

  constructor(readonly pipeline: string, readonly dir: string) {
    this.store = openStore(dir);
  }

  async load(): Promise<void> {
    this.manifests.clear();
    this.done.clear();
    this.amendments.clear();
    for (const obj of await this.store.list('batches/')) {
      const m = /^batches\/(\d+)(\.done|\.amend)?\.json$/.exec(obj.key);
      if (!m) continue;
      const value = JSON.parse(new TextDecoder().decode(await this.store.get(obj.key)));
      if (m[2] === '.done') this.done.set(Number(m[1]), value as BatchDone);
      else if (m[2] === '.amend') this.amendments.set(Number(m[1]), value as Amendment);
      else this.manifests.set(Number(m[1]), value as BatchManifest);
    }
    for (const a of this.amendments.values()) {
      const manifest = this.manifests.get(a.seq);
      if (manifest) applyAmendment(manifest, a);
    }
    this.loaded = true;
  }

  private assertLoaded(): void {
    if (!this.loaded) throw new Error('BatchState.load() first');
  }

  nextSeq(): number {
    this.assertLoaded();
    return Math.max(0, ...this.manifests.keys()) + 1;
  }

  /** Batches planned but not finished, oldest first: a crash left them; they are finished first. */
  unfinished(): BatchManifest[] {
    this.assertLoaded();
    return [...this.manifests.values()].filter((m) => !this.done.has(m.seq)).sort((a, b) => a.seq - b.seq);
  }

  all(): { manifest: BatchManifest; done?: BatchDone }[] {
    return [...this.manifests.values()].sort((a, b) => a.seq - b.seq).map((manifest) => ({ manifest, done: this.done.get(manifest.seq) }));
  }

  /**
   * The finished batch that staged this content (under any name, or with `sameName` only under
   * this one), and the name it had then.
   */
  stagedBefore(key: string, sha256: string, sameName = true): { seq: number; key: string } | undefined {
    for (const m of this.manifests.values()) {
      if (!this.done.has(m.seq)) continue;
      const f = m.files.find((x) => x.sha256 === sha256 && x.outcome === 'stage' && (!sameName || x.key === key));
      if (f) return { seq: m.seq, key: f.key };
    }
    return undefined;
  }

  /**
   * Takes a file out of a planned, not yet staged batch because the landing file was overwritten:
   * the planned bytes are gone, so the batch goes on without them and the new content is a new
   * delivery for a later batch. Durable before the stage commit, like the manifest.
   */
  async replace(seq: number, key: string, reason: string): Promise<void> {
    const manifest = this.manifests.get(seq);
    if (!manifest) throw new PipelineStateError(this.pipeline, `batch ${seq} has no manifest`);
    const file = manifest.files.find((f) => f.key === key);
    if (!file) return;
    const amendment = this.amendments.get(seq) ?? { seq, replaced: [] };
    if (!amendment.replaced.some((r) => r.key === key)) amendment.replaced.push({ key, sha256: file.sha256, reason });
    // Copies of it in this batch were to be archived as its duplicates: with its planned bytes never
    // staged, they stay in landing instead and a later batch stages them.
    for (const copy of manifest.files.filter((f) => f.outcome === 'duplicate' && f.duplicateOf === seq && f.duplicateName === key)) {
      if (!amendment.replaced.some((r) => r.key === copy.key)) {
        amendment.replaced.push({ key: copy.key, sha256: copy.sha256, reason: `a copy of ${key}, which was overwritten before this batch staged it: left in landing for a later batch` });
      }
    }
    await this.store.put(`batches/${pad(seq)}.amend.json`, JSON.stringify(amendment, null, 1));
    this.amendments.set(seq, amendment);
    applyAmendment(manifest, amendment);
  }

  /**
   * A file planned to be staged that a redo of its unstaged batch refuses with the very bytes that
   * were planned (a batch planned by an older lakelet that let the file through, and whose stage
   * commit then failed on it): it is quarantined instead, so the batch is not retried forever.
   */
  async reject(seq: number, key: string, error: NonNullable<ManifestFile['error']>): Promise<void> {
    const manifest = this.manifests.get(seq);
    if (!manifest) throw new PipelineStateError(this.pipeline, `batch ${seq} has no manifest`);
    const file = manifest.files.find((f) => f.key === key);
    if (!file) return;
    const amendment = this.amendments.get(seq) ?? { seq, replaced: [] };
    const rejected = (amendment.rejected ??= []);
    if (!rejected.some((r) => r.key === key)) rejected.push({ key, sha256: file.sha256, error });
    // Copies of it in this batch were to be archived as its duplicates: the same bytes, the same verdict.
    for (const copy of manifest.files.filter((f) => f.outcome === 'duplicate' && f.duplicateOf === seq && f.duplicateName === key)) {
      if (!rejected.some((r) => r.key === copy.key)) rejected.push({ key: copy.key, sha256: copy.sha256, error: { ...error, message: `the same content as ${key}, rejected: ${error.message}` } });
    }
    await this.store.put(`batches/${pad(seq)}.amend.json`, JSON.stringify(amendment, null, 1));
    this.amendments.set(seq, amendment);
    applyAmendment(manifest, amendment);
  }

  /** Whether a finished batch took this file (any outcome): for shared landing folders. */
  tookFile(key: string, sha256: string): boolean {
    for (const m of this.manifests.values()) {
      if (this.done.has(m.seq) && m.files.some((f) => f.key === key && f.sha256 === sha256)) return true;
    }
    return false;
  }

  /** Durable before the stage commit; create-only, so two runners can never plan the same batch. */
  async writeManifest(manifest: BatchManifest): Promise<void> {
    const ok = await this.store.putIfAbsent(`batches/${pad(manifest.seq)}.json`, JSON.stringify(manifest, null, 1));
    if (!ok) throw new PipelineStateError(this.pipeline, `batch ${manifest.seq} was planned by another process (${this.dir}/batches); is another runner active?`);
    this.manifests.set(manifest.seq, manifest);
  }

  async markDone(done: BatchDone): Promise<void> {
    await this.store.putIfAbsent(`batches/${pad(done.seq)}.done.json`, JSON.stringify(done, null, 1));
    this.done.set(done.seq, done);
  }

  isDone(seq: number): boolean {
    return this.done.has(seq);
  }

  /** Takes the pipeline's lock; a lock whose process is gone (killed) is taken over. */
  async lock(): Promise<() => Promise<void>> {
    const token = randomUUID();
    const body = JSON.stringify({ pid: process.pid, token, startedAt: new Date().toISOString() });
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.store.putIfAbsent('lock', body)) {
        return async () => {
          const current = await this.store.get('lock').catch(() => undefined);
          if (current && new TextDecoder().decode(current).includes(token)) await this.store.delete('lock');
        };
      }
      let holder: { pid?: number; token?: string } = {};
      try {
        holder = JSON.parse(new TextDecoder().decode(await this.store.get('lock')));
      } catch {
        // vanished or torn: retry
      }
      // Held by a live process (this one included: another runner in it): busy. Dead: take it over.
      if (holder.pid && processAlive(holder.pid)) throw new PipelineBusyError(this.pipeline, holder.pid, `${this.dir}/lock`);
      await this.store.delete('lock');
    }
    throw new PipelineStateError(this.pipeline, `could not take the lock ${this.dir}/lock`);
  }
}

function applyAmendment(manifest: BatchManifest, amendment: Amendment): void {
  for (const r of amendment.replaced) {
    const f = manifest.files.find((x) => x.key === r.key && x.sha256 === r.sha256);
    if (f) {
      f.outcome = 'replaced';
      f.replaced = r.reason;
    }
  }
  for (const r of amendment.rejected ?? []) {
    const f = manifest.files.find((x) => x.key === r.key && x.sha256 === r.sha256 && (x.outcome === 'stage' || x.outcome === 'duplicate'));
    if (f) {
      f.outcome = 'quarantine';
      f.error = r.error;
      delete f.records;
      delete f.bad;
      delete f.duplicateOf;
      delete f.duplicateName;
    }
  }
}

