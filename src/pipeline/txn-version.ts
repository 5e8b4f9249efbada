import { versionOfTxn } from '../engine/delta/txn-lookup.ts';
import type { DeltaTable } from '../engine/table.ts';

/** The table version whose commit carried txn (appId, version ≥ seq), or undefined when no commit did yet. */
export async function committedVersion(table: DeltaTable, appId: string, seq: number): Promise<number | undefined> {
  const latest = await table.tryLatest();
  return latest ? versionOfTxn(latest, appId, seq) : undefined;
}
