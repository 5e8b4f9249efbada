import type { Compute } from '../../adapters/compute/compute.ts';
import type { ObjectStore } from '../../adapters/storage/object-store.ts';
import type { Clock, IdSource } from '../../adapters/clock.ts';
import type { LogStore } from './log-store.ts';

/** Everything an operation on one table needs: where it lives, how to compute, what time it is. */
export interface TableContext {
  /** Human-readable location, used in every error message. */
  readonly uri: string;
  readonly store: ObjectStore;
  readonly log: LogStore;
  readonly compute: Compute;
  readonly clock: Clock;
  readonly ids: IdSource;
  /**
   * Told of the snapshot each commit of this process produced and the size of the commit file it
   * wrote (the table handle keeps both), so the next question about the table replays only commits
   * written by others since, not its own. Typed loosely: snapshot.ts imports this file.
   */
  readonly committed?: (snapshot: unknown, commitBytes: number) => void;
  /**
   * Told of what went wrong after an operation's commit was already durable and so does not fail
   * it (a checkpoint that could not be written). Unset: a Node process warning (`LakeletWarning`).
   */
  readonly warn?: (message: string) => void;
}
