import type { Snapshot } from './delta/snapshot.ts';
import type { TableContext } from './delta/table-context.ts';

/**
 * What an operation needs of the table it runs on. Operations take this rather than `DeltaTable`
 * itself, so `table.ts` (which builds the operations) and `ops/*` do not import each other.
 */
export interface VersionSelector {
  version?: number;
  /** ISO-8601 string, ms since the epoch, or a Date. */
  timestamp?: string | number | Date;
}

export interface TableHandle {
  readonly ctx: TableContext;
  readonly uri: string;
  snapshot(selector?: VersionSelector): Promise<Snapshot>;
  /** The latest snapshot, or undefined when there is no table here yet. */
  tryLatest(): Promise<Snapshot | undefined>;
}
