import type { RemoveFile } from './actions.ts';
import type { CheckpointCandidate } from './log-segment.ts';
import type { LastCheckpoint } from './log-store.ts';

/** One replayed commit's removes, linked to the earlier ones (shared by every later snapshot). */
interface RemovesOfCommit {
  readonly removes: readonly RemoveFile[];
  readonly earlier: RemovesOfCommit | undefined;
}

/**
 * What a snapshot knows of the removes in effect at its version, so that a checkpoint written from
 * it does not list and read the log again for its tombstones (checkpoint-tombstones.ts): the
 * checkpoint its replay started from, that checkpoint's own removes when they are known, and the
 * removes of every commit replayed after it.
 *
 * Only the removes since that checkpoint are held, one list per commit linked to the lists before
 * it, so a snapshot after one more commit adds its own list and copies nothing. Adds that bring a
 * removed file back are not tracked: the checkpoint drops the tombstone of every live file, which
 * comes to the same (a file added again is live unless a later remove, which then stands, took it).
 */
export class RemoveLedger {
  private constructor(
    /** The checkpoint replay started from; undefined when it started at version 0. */
    readonly base: CheckpointCandidate | undefined,
    /**
     * The base's removes, when known without reading it (a checkpoint this process wrote, in the
     * shape written); undefined when the base must be read if it may hold any.
     */
    readonly baseRemoves: readonly RemoveFile[] | undefined,
    /** `_last_checkpoint` as read when the snapshot was loaded: it may vouch that the base holds no remove. */
    readonly hint: LastCheckpoint | undefined,
    private readonly last: RemovesOfCommit | undefined,
  ) {}

  /** A ledger for a replay that starts at `base` (or at version 0), nothing replayed yet. */
  static startingAt(base: CheckpointCandidate | undefined, hint?: LastCheckpoint, baseRemoves?: readonly RemoveFile[]): RemoveLedger {
    return new RemoveLedger(base, baseRemoves, hint, undefined);
  }

  /** The ledger after one more commit whose removes are `removes` (the same ledger when there are none). */
  withRemoves(removes: readonly RemoveFile[]): RemoveLedger {
    if (removes.length === 0) return this;
    return new RemoveLedger(this.base, this.baseRemoves, this.hint, { removes: removes.map(slim), earlier: this.last });
  }

  /** The removes of the commits replayed after the base, oldest first. */
  commitRemoves(): RemoveFile[] {
    const lists: (readonly RemoveFile[])[] = [];
    for (let c = this.last; c; c = c.earlier) lists.push(c.removes);
    const out: RemoveFile[] = [];
    for (let i = lists.length - 1; i >= 0; i--) out.push(...lists[i]);
    return out;
  }
}

/**
 * The fields of a checkpoint's remove column: a commit's remove may also carry stats and tags,
 * which a tombstone does not keep and the ledger need not hold in memory.
 */
export function slim(remove: RemoveFile): RemoveFile {
  const { path, deletionTimestamp, extendedFileMetadata, partitionValues, size, deletionVector, baseRowId, defaultRowCommitVersion } = remove;
  return { path, deletionTimestamp, dataChange: false, extendedFileMetadata, partitionValues, size, deletionVector, baseRowId, defaultRowCommitVersion };
}
