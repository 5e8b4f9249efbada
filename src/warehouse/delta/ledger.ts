import { versionOfTxn } from '../../engine/delta/txn-lookup.ts';
import type { DeltaTable } from '../../engine/table.ts';
import type { BatchLedger, MergeCounts } from '../warehouse.ts';

/**
 * The batch ledger of a Delta pipeline: batch N's stage append and MERGE carry the Delta txn
 * (`lakelet:<pipeline>:stage|target`, N), so "which version did batch N produce?" is answered by
 * the table's own snapshot: the handle's cached snapshot knows the version that set each txn it
 * replayed (see txn-lookup.ts), without re-reading the log.
 */
export const stageAppId = (pipeline: string) => `lakelet:${pipeline}:stage`;
export const targetAppId = (pipeline: string) => `lakelet:${pipeline}:target`;

export class DeltaBatchLedger implements BatchLedger {
  constructor(
    private readonly pipeline: string,
    private readonly stage: DeltaTable,
    private readonly target: DeltaTable | undefined,
  ) {}

  async stageVersion(seq: number): Promise<number | undefined> {
    return committedVersion(this.stage, stageAppId(this.pipeline), seq);
  }

  async targetVersion(seq: number): Promise<number | undefined> {
    return this.target ? committedVersion(this.target, targetAppId(this.pipeline), seq) : undefined;
  }

  async mergeCounts(version: number): Promise<MergeCounts> {
    if (!this.target) return { inserted: 0, updated: 0, deleted: 0, deduplicated: 0 };
    const latest = await this.target.tryLatest();
    if (!latest) return { inserted: 0, updated: 0, deleted: 0, deduplicated: 0 };
    const entries = await this.target.history(latest.version - version + 1);
    const m = entries.find((x) => x.version === version)?.operationMetrics ?? {};
    return {
      inserted: Number(m.numTargetRowsInserted ?? 0),
      updated: Number(m.numTargetRowsUpdated ?? 0),
      deleted: Number(m.numTargetRowsDeleted ?? 0),
      deduplicated: Number(m.numSourceRowsDeduplicated ?? 0),
    };
  }
}

/** The table version whose commit carried txn (appId, version ≥ seq), or undefined when none did yet. */
async function committedVersion(table: DeltaTable, appId: string, seq: number): Promise<number | undefined> {
  const latest = await table.tryLatest();
  return latest ? versionOfTxn(latest, appId, seq) : undefined;
}
