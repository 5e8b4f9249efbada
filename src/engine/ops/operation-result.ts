import type { Snapshot } from '../delta/snapshot.ts';

/** What every operation's `execute()` returns: the new version and snapshot, and its metrics. */
export interface OperationResult<M> {
  version: number;
  snapshot: Snapshot;
  metrics: M;
  /** Set when nothing was written (an idempotent transaction already applied, nothing to do). */
  skipped?: string;
}
