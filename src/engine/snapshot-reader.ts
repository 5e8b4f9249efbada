import { openStore } from '../adapters/storage/open-store.ts';
import { LazyCompute } from '../adapters/compute/lazy-compute.ts';
import { randomIds, systemClock } from '../adapters/clock.ts';
import { LogStore } from './delta/log-store.ts';
import type { TableContext } from './delta/table-context.ts';
import { loadLatestSnapshot, loadSnapshotAt, type Snapshot } from './delta/snapshot.ts';

/**
 * A snapshot opened without loading DuckDB's client or the table operations (what DeltaTable
 * imports): the read-only command line path (`lakelet read`, cli/commands/read-direct.ts) starts
 * in a fraction of the time. DuckDB is still loaded on demand, from here only, when the log needs
 * it (a checkpoint parquet-lite does not decode). Call `close()` when done.
 */
export async function openSnapshotForRead(location: string, version?: number): Promise<{ snapshot: Snapshot; close(): void }> {
  const store = openStore(location);
  const compute = new LazyCompute(async () => (await import('../adapters/compute/open-compute.ts')).openCompute());
  const ctx: TableContext = { uri: store.uri, store, log: new LogStore(store), compute, clock: systemClock, ids: randomIds };
  const close = () => compute.close();
  try {
    const snapshot = version === undefined ? await loadLatestSnapshot(ctx) : await loadSnapshotAt(ctx, version);
    return { snapshot, close };
  } catch (err) {
    close();
    throw err;
  }
}
