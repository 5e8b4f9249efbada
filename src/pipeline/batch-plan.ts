import type { ObjectMeta } from '../adapters/storage/object-store.ts';
import { earlierBatchesFirst, type PipelineRuntime } from './batch.ts';
import { BatchPreparer, type Prepared } from './batch-prepare.ts';
import type { BatchManifest, ManifestFile } from './batch-state.ts';
import { badRecordsSummary } from './bad-records.ts';
import { crashPoint } from './crash-points.ts';
import { directLoadFor, planDirectFile } from './direct-load.ts';
import { batchFolder, sha256 } from './file-mover.ts';
import { rejectionError } from './reject-hints.ts';

/** Plans a batch over landed files (already ordered): hashes, duplicate check, validation, manifest. */
export async function planBatch(
  rt: PipelineRuntime,
  candidates: ObjectMeta[],
  /** Files that stayed incomplete past arrival.incompleteTimeout, with the reason: quarantined unread. */
  abandoned: Map<string, string> = new Map(),
): Promise<{ manifest: BatchManifest; prepared: Prepared } | undefined> {
  // txn versions only grow: staging batch N+1 before batch N would make N look staged. So every
  // earlier batch must be in the stage table before a new one is planned.
  await earlierBatchesFirst(rt, 'stage', Number.MAX_SAFE_INTEGER);
  const seq = rt.state.nextSeq();
  const now = rt.clock.now();
  const id = rt.ids.uuid().replace(/-/g, '').slice(0, 8);
  const files: ManifestFile[] = [];
  const started = Date.now();
  const bar = rt.reporter.progress(`${rt.pipeline.name} batch ${seq}`, candidates.length);
  // Each file is read once, here: hashed, classified and (if it is to be staged) checked from the
  // same bytes, which are then let go (a few files are read ahead: ReadAhead).
  const preparer = await BatchPreparer.start(rt, seq);
  const reads = new ReadAhead(rt, candidates);
  // The files of this batch taken so far, by content: a second copy in the same batch is a duplicate
  // of the first, as it would be in a later batch (else a stage-only pipeline would keep its rows twice).
  const takenHere = new Map<string, string>();
  for (const [index, c] of candidates.entries()) {
    bar.tick(1, c.key);
    // A file at or above bigquery.loadJobFrom is not read here: the listing identifies it (direct-load.ts).
    const direct = directLoadFor(rt, c);
    let data: Uint8Array | undefined;
    let sum: string;
    if (direct) {
      sum = direct.identity;
    } else {
      const read = await reads.take(index);
      if (!read.data) continue; // gone since it was listed
      data = read.data;
      // Still being written (it grew since it was listed): the next run takes it.
      const now2 = read.head;
      if (data.length !== c.size || !now2 || now2.size !== c.size || now2.lastModified !== c.lastModified) {
        rt.reporter.event('info', 'file.still-changing', { pipeline: rt.pipeline.name, file: c.key });
        continue;
      }
      sum = sha256(data);
    }
    // Fan-out: a file stays in landing until every pipeline reading the folder has taken it.
    if (rt.siblings.length > 0 && rt.state.tookFile(c.key, sum) && rt.siblings.some((s) => !s.tookFile(c.key, sum))) continue;
    // A copy of content already applied (a late or renamed redelivery) is not applied again: its
    // older rows could otherwise bring back keys deleted since. Nor is a second copy in this batch.
    const sameName = rt.pipeline.duplicates === 'name-and-content';
    const firstHere = sameName ? undefined : takenHere.get(sum);
    const dupOf = firstHere !== undefined ? { seq, key: firstHere } : rt.state.stagedBefore(c.key, sum, sameName);
    const incomplete = abandoned.get(c.key);
    if (incomplete !== undefined) {
      files.push({ key: c.key, size: c.size, mtime: c.lastModified, sha256: sum, outcome: 'quarantine', error: { kind: 'incomplete', message: incomplete, hint: 'complete the file (or put a fixed copy in landing) and run `lakelet requeue` on it' } });
    } else if (dupOf !== undefined) {
      files.push({ key: c.key, size: c.size, mtime: c.lastModified, sha256: sum, outcome: 'duplicate', duplicateOf: dupOf.seq, ...(dupOf.key !== c.key ? { duplicateName: dupOf.key } : {}) });
    } else if (direct) {
      const f = await planDirectFile(rt, seq, index, c, direct);
      if (f) files.push(f);
      if (f?.outcome === 'stage') takenHere.set(sum, c.key);
    } else {
      files.push({ key: c.key, size: c.size, mtime: c.lastModified, sha256: sum, outcome: 'stage' });
      takenHere.set(sum, c.key);
      await preparer.add(c.key, data!);
    }
  }
  bar.stop();
  if (files.length === 0) return undefined;
  const toStage = files.filter((f) => f.outcome === 'stage');
  const prepared = await preparer.finish();
  for (const f of toStage) {
    if (f.loadJob) continue; // its verdict is the load job's
    const rejection = prepared.rejected.get(f.key);
    if (rejection) {
      f.outcome = 'quarantine';
      f.error = rejectionError(rejection, f.key, rt.pipeline);
      continue;
    }
    const plan = prepared.plans.get(f.key)!;
    f.records = plan.rows;
    if (plan.bad.length) f.bad = { records: plan.bad.length, leftOut: plan.leftOut, summary: badRecordsSummary(f.key, plan.bad.length, plan.leftOut, plan.bad[0]) };
    if (plan.raw.repaired.length) f.repaired = plan.raw.repaired;
  }
  // A copy of a file this batch rejected has the same bytes, so the same verdict: quarantined too.
  for (const f of files) {
    if (f.outcome !== 'duplicate' || f.duplicateOf !== seq) continue;
    const first = files.find((x) => x.key === (f.duplicateName ?? f.key));
    if (first?.outcome === 'quarantine') {
      f.outcome = 'quarantine';
      f.error = first.error && { ...first.error, message: `the same content as ${first.key}, rejected: ${first.error.message}` };
      delete f.duplicateOf;
      delete f.duplicateName;
    }
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

/**
 * The batch's files read a few ahead of the one being checked: the store reads them (libuv's
 * threads, or the network) while this thread hashes and checks the one before. Bounded by files
 * and bytes; a file the warehouse may load itself (direct-load.ts) is left to the loop.
 */
class ReadAhead {
  private readonly reads = new Map<number, Promise<{ data?: Uint8Array; head?: ObjectMeta }>>();
  private next = 0;

  constructor(
    private readonly rt: PipelineRuntime,
    private readonly files: ObjectMeta[],
  ) {}

  take(index: number): Promise<{ data?: Uint8Array; head?: ObjectMeta }> {
    this.fill(index);
    const read = this.reads.get(index) ?? this.read(this.files[index]);
    this.reads.delete(index);
    this.fill(index + 1);
    return read;
  }

  private fill(from: number): void {
    this.next = Math.max(this.next, from);
    let bytes = 0;
    for (const i of this.reads.keys()) bytes += this.files[i].size;
    while (this.next < this.files.length && this.reads.size < READ_AHEAD_FILES && bytes < READ_AHEAD_BYTES) {
      const f = this.files[this.next];
      const from = this.rt.tables.remoteLoadFrom;
      if (from === undefined || f.size < from) {
        const read = this.read(f);
        // Taken (and its error thrown) in the loop's turn; a loop that stops early leaves no unhandled rejection.
        read.catch(() => {});
        this.reads.set(this.next, read);
        bytes += f.size;
      }
      this.next++;
    }
  }

  /** The bytes, then the listing again (to see a file still growing); no bytes when it is gone. */
  private async read(f: ObjectMeta): Promise<{ data?: Uint8Array; head?: ObjectMeta }> {
    let data: Uint8Array;
    try {
      data = await this.rt.landing.get(f.key);
    } catch {
      return {};
    }
    return { data, head: await this.rt.landing.head(f.key) };
  }
}

const READ_AHEAD_FILES = 8;
const READ_AHEAD_BYTES = 64 * 1024 * 1024;
