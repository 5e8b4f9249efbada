import type { Snapshot } from './snapshot.ts';
import { listLog, loadSnapshot } from './snapshot.ts';

/**
 * The table version whose commit carried txn (appId, version >= seq), or undefined when none did.
 * Answered from the snapshot when it replayed that commit itself (the usual case: the question is
 * asked about a recent batch, and checkpoints are 10 commits apart); otherwise found by binary
 * search over older snapshots, since an application's txn versions only grow with the table's.
 */
export async function versionOfTxn(latest: Snapshot, appId: string, seq: number): Promise<number | undefined> {
  const current = latest.txnVersion(appId) ?? 0;
  if (current < seq) return undefined;
  const known = latest.txnCommittedIn(appId);
  if (current === seq && known !== undefined) return known;
  const listing = await listLog(latest.table);
  let lo = 0;
  let hi = known ?? latest.version;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const snap = await loadSnapshot(latest.table, { version: mid }, listing).catch(() => undefined);
    if (snap && (snap.txnVersion(appId) ?? 0) >= seq) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
