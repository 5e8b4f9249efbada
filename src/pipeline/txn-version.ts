import type { DeltaTable } from '../engine/table.ts';

/**
 * The table version whose commit carried txn (appId, version ≥ seq), or undefined when no commit
 * did yet. Found by binary search over snapshots (txn versions only grow with the table version).
 */
export async function committedVersion(table: DeltaTable, appId: string, seq: number): Promise<number | undefined> {
  const latest = await table.tryLatest();
  if (!latest || (latest.txnVersion(appId) ?? 0) < seq) return undefined;
  let lo = 0;
  let hi = latest.version;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const snap = await table.snapshot({ version: mid }).catch(() => undefined);
    if (snap && (snap.txnVersion(appId) ?? 0) >= seq) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
