import type { Action, RemoveFile } from './actions.ts';
import { CorruptLogError } from '../errors.ts';
import { parseCommit } from './action-codec.ts';
import { fileKey } from './file-key.ts';
import { completeCheckpoints, type CheckpointCandidate } from './log-segment.ts';
import type { LastCheckpoint, LogFile } from './log-store.ts';
import { configuredRetentionMs } from './retention.ts';
import { readCheckpoint, type Snapshot } from './snapshot.ts';
import { slim } from './remove-ledger.ts';
import type { TableContext } from './table-context.ts';

/**
 * The removes a checkpoint at `snapshot.version` must carry (Delta's protocol: a checkpoint keeps
 * the remove tombstones until they expire). Another engine's VACUUM takes a file that is neither
 * live nor tombstoned, and older than the retention, for debris: without its tombstone, a file
 * removed yesterday but written last month would go, and time travel to yesterday with it.
 *
 * They are the removes of the checkpoint the snapshot was replayed from plus those of the commits
 * replayed after it, which the snapshot kept (RemoveLedger): the log is not listed nor read again,
 * and that checkpoint is read only when it may hold removes. A snapshot without that knowledge,
 * or whose checkpoint does not read, falls back to the log (tombstonesFromLog). Either way, less
 * any file live again, less those removed before `now - retention`. With a retention setting that
 * does not parse, every tombstone is kept (VACUUM itself refuses such a table).
 */
export async function checkpointTombstones(table: TableContext, snapshot: Snapshot, now: number): Promise<RemoveFile[]> {
  const tombstones = (await tombstonesFromSnapshot(table, snapshot).catch(() => undefined)) ?? (await tombstonesFromLog(table, snapshot));
  const retention = configuredRetentionMs(snapshot.configuration);
  const cutoff = retention === undefined ? -Infinity : now - retention;
  const live = new Set<string>();
  for (const f of snapshot.files) live.add(fileKey(f.path, f.deletionVector));
  const kept: RemoveFile[] = [];
  for (const [key, remove] of tombstones) {
    if (live.has(key) || (remove.deletionTimestamp ?? 0) <= cutoff) continue;
    // The fields of the checkpoint's remove column (a commit's remove may carry stats and tags too).
    kept.push(slim(remove));
  }
  return kept;
}

/**
 * The removes in effect at the snapshot's version, from what its replay kept: its checkpoint's
 * (known, vouched for as none by `_last_checkpoint`, or read), then each later commit's in order.
 * Undefined when the snapshot kept none (not built by replay).
 */
async function tombstonesFromSnapshot(table: TableContext, snapshot: Snapshot): Promise<Map<string, RemoveFile> | undefined> {
  const ledger = snapshot.removes;
  if (!ledger) return undefined;
  const tombstones = new Map<string, RemoveFile>();
  const add = (remove: RemoveFile) => tombstones.set(fileKey(remove.path, remove.deletionVector), remove);
  if (ledger.base && ledger.baseRemoves) ledger.baseRemoves.forEach(add);
  else if (ledger.base) {
    const hint = ledger.hint?.version === ledger.base.version ? ledger.hint : await table.log.readLastCheckpoint().catch(() => undefined);
    if (!holdsNoRemoves(hint, ledger.base)) for (const a of await readCheckpoint(table, ledger.base, true)) if (a.remove) add(a.remove);
  }
  ledger.commitRemoves().forEach(add);
  return tombstones;
}

/**
 * The removes in effect at the snapshot's version, gathered from the log: the previous
 * checkpoint's plus those of the commits after it, less any file added again since.
 */
export async function tombstonesFromLog(table: TableContext, snapshot: Snapshot): Promise<Map<string, RemoveFile>> {
  const hint = await table.log.readLastCheckpoint().catch(() => undefined);
  const start = hint && hint.version < snapshot.version ? hint.version : 0;
  let listed = await table.log.listFrom(start);
  let previous = completeCheckpoints(listed, snapshot.version - 1)[0];
  // A hint naming a checkpoint that is gone: the previous one is further back, or there is none.
  if (!previous && start > 0) {
    listed = await table.log.listFrom(0);
    previous = completeCheckpoints(listed, snapshot.version - 1)[0];
  }

  try {
    return await replayRemoves(table, listed, previous, snapshot.version, previous !== undefined && holdsNoRemoves(hint, previous));
  } catch (err) {
    // The previous checkpoint does not read (damaged): the commits alone, from the first.
    if (!previous) throw err;
    return replayRemoves(table, await table.log.listFrom(0), undefined, snapshot.version);
  }
}

/**
 * Whether `_last_checkpoint` shows the previous checkpoint to hold no remove: it names that very
 * checkpoint (classic or multi-part), carries a checksum (so it is the file its writer wrote, as
 * readLastCheckpoint verified), and counts no action besides the protocol, the metadata and the
 * adds (`size` is every action of the checkpoint, `numOfAddFiles` its adds; a remove, txn or domain
 * would make the difference larger). Then the checkpoint is not read again for its tombstones: a
 * table whose files are only ever added (the usual log of appends and upserts) pays nothing for them.
 */
function holdsNoRemoves(hint: LastCheckpoint | undefined, previous: CheckpointCandidate): boolean {
  if (!hint || hint.version !== previous.version || previous.kind === 'v2' || hint.v2Checkpoint || typeof hint.checksum !== 'string') return false;
  // The hint must describe this very file set: a multi-part hint does not vouch for a classic file of
  // the same version (another writer's), nor the reverse.
  if ((hint.parts ?? 1) !== previous.keys.length) return false;
  // Exactly the protocol and the metadata besides the adds: a smaller difference is no conforming count.
  return typeof hint.size === 'number' && typeof hint.numOfAddFiles === 'number' && hint.size - hint.numOfAddFiles === 2;
}

/**
 * The removes in effect at `version`: the checkpoint's (if any, and unless `noneInPrevious`), then
 * each later commit's, in order.
 */
async function replayRemoves(
  table: TableContext,
  listed: LogFile[],
  previous: CheckpointCandidate | undefined,
  version: number,
  noneInPrevious = false,
): Promise<Map<string, RemoveFile>> {
  const tombstones = new Map<string, RemoveFile>();
  if (previous && !noneInPrevious) {
    for (const a of await readCheckpoint(table, previous, true)) if (a.remove) tombstones.set(fileKey(a.remove.path, a.remove.deletionVector), a.remove);
  }
  const apply = (actions: Action[]) => {
    // Removes first, as replay applies them: a commit that swaps a file's deletion vector removes
    // and adds the same path.
    for (const a of actions) if (a.remove) tombstones.set(fileKey(a.remove.path, a.remove.deletionVector), a.remove);
    for (const a of actions) if (a.add) tombstones.delete(fileKey(a.add.path, a.add.deletionVector));
  };
  const commits = listed.filter((f) => f.kind === 'commit' && f.version > (previous?.version ?? -1) && f.version <= version);
  // A commit missing from the replay (cleaned up by log retention) would drop its removes silently.
  const first = (previous?.version ?? -1) + 1;
  const gap = commits.findIndex((c, i) => c.version !== first + i);
  if (gap >= 0 || commits.length < version - first + 1) {
    const at = gap >= 0 ? first + gap : first + commits.length;
    throw new CorruptLogError(
      table.uri,
      `the removes up to version ${version} cannot be replayed for a checkpoint's tombstones: commit ${at} is missing from _delta_log` +
        `${previous ? '' : ' and no readable checkpoint precedes it'}.`,
      { version: at },
    );
  }
  for (let i = 0; i < commits.length; i += 16) {
    const batch = commits.slice(i, i + 16);
    const texts = await Promise.all(batch.map((c) => table.log.readCommit(c.version)));
    batch.forEach((c, k) => apply(parseCommit(texts[k], { tablePath: table.uri, version: c.version, file: c.key })));
  }
  return tombstones;
}
