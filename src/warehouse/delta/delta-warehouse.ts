import type { Compute } from '../../adapters/compute/compute.ts';
import type { Clock, IdSource } from '../../adapters/clock.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';
import { DeltaTable, type TableOptions } from '../../engine/table.ts';
import { InputError } from '../../errors/lakelet-error.ts';
import { childLocation } from '../../adapters/storage/location.ts';
import { openStore } from '../../adapters/storage/open-store.ts';
import type { Column, IngestionLogTable, PipelineTables, PipelineTablesSpec, StageBatch, SyncMetadataTable, UpsertSpec, Warehouse, WarehouseCapabilities } from '../warehouse.ts';
import { DeltaSyncMetadata } from './sync-metadata.ts';
import { DeltaIngestionLog } from './ingestion-log.ts';
import { DeltaBatchLedger } from './ledger.ts';
import { appendBatch, batchCounts, stageColumns, trimStage } from './stage.ts';
import { stateDomain, upsertBatch } from './upsert.ts';
import { unstorableInDelta } from './unstorable.ts';
import { removeTableLeftovers } from './write-leftovers.ts';

/**
 * lakelet's own Delta engine as the warehouse: stage and target are Delta tables (local disk),
 * each batch's commits carry Delta txns, so the ledger is the tables' own log.
 */
export class DeltaWarehouse implements Warehouse {
  readonly name = 'delta';
  readonly capabilities: WarehouseCapabilities = { timeTravel: true, atomicLedger: true, addColumns: true, loadsRemoteFiles: false };

  constructor(private readonly env: { compute: Compute; clock: Clock; ids: IdSource; onWarning?: (message: string) => void }) {}

  async pipelineTables(spec: PipelineTablesSpec): Promise<PipelineTables> {
    const open = (path: string) => DeltaTable.forPath(path, this.env);
    const stage = await open(spec.stage);
    const target = spec.target ? await open(spec.target) : undefined;
    const tombstones = target && spec.tombstones ? await open(childLocation(spec.stateDir, 'tombstones')) : undefined;
    return new DeltaPipelineTables(spec, this.env.compute, stage, target, tombstones);
  }

  async ingestionLog(location: string): Promise<IngestionLogTable> {
    return DeltaIngestionLog.open(location, this.logEnv());
  }

  syncMetadata(location: string): Promise<SyncMetadataTable> {
    return DeltaSyncMetadata.open(location, this.logEnv());
  }

  /** Each folder under the root is a table (the name prefix is the caller's own: Delta keeps no registry). */
  async pipelinesUnder(targetRoot: string): Promise<string[]> {
    return [...new Set((await openStore(targetRoot).list('')).map((o) => o.key.split('/')[0]))].sort();
  }

  /** The pipeline's bookkeeping tables take the SQL engine, the clock and the warnings, and their own ids. */
  private logEnv(): TableOptions {
    const { compute, clock, onWarning } = this.env;
    return { compute, clock, ...(onWarning ? { onWarning } : {}) };
  }

  close(): void {}
}

class DeltaPipelineTables implements PipelineTables {
  readonly ledger: DeltaBatchLedger;
  /** The stage table is written on the pipeline's own Compute: a batch comes as the query of its rows. */
  readonly stagesQuery = true;

  constructor(
    private readonly spec: PipelineTablesSpec,
    private readonly compute: Compute,
    readonly stageTable: DeltaTable,
    readonly targetTable: DeltaTable | undefined,
    private readonly tombstones: DeltaTable | undefined,
  ) {
    this.ledger = new DeltaBatchLedger(spec.name, stageTable, targetTable);
  }

  get hasTarget(): boolean {
    return this.targetTable !== undefined;
  }

  stageColumns() {
    return stageColumns(this.stageTable, this.compute);
  }

  unstorable(column: Column): string | undefined {
    return unstorableInDelta(column);
  }

  stage(batch: StageBatch) {
    return appendBatch(this.stageTable, this.spec.name, batch, this.spec.stageProperties);
  }

  stageCounts(seq: number, key: string[]) {
    return batchCounts(this.stageTable, this.compute, seq, key);
  }

  upsert(upsert: UpsertSpec, afterTombstones?: (count: number) => void) {
    if (!this.targetTable) throw new InputError(`pipeline '${this.spec.name}' has no target table to MERGE into; add target: to it in lakelet.yml`);
    const tables = { pipeline: this.spec.name, stage: this.stageTable, target: this.targetTable, tombstones: this.tombstones, compute: this.compute, ledger: this.ledger, targetProperties: this.spec.targetProperties };
    return upsertBatch(tables, upsert, afterTombstones);
  }

  retainStage(upToBatch: number, olderThan: number | undefined) {
    return trimStage(this.stageTable, upToBatch, olderThan);
  }

  async syncProperties(): Promise<{ table: 'stage' | 'target'; path: string; version: number; changed: Record<string, { from?: string; to: string }> }[]> {
    const out: { table: 'stage' | 'target'; path: string; version: number; changed: Record<string, { from?: string; to: string }> }[] = [];
    const tables = [
      { role: 'stage' as const, table: this.stageTable, props: this.spec.stageProperties },
      ...(this.targetTable ? [{ role: 'target' as const, table: this.targetTable, props: this.spec.targetProperties }] : []),
    ];
    for (const { role, table, props } of tables) {
      if (Object.keys(props).length === 0 || !(await table.exists())) continue;
      const result = await table.setProperties(props).execute();
      if (!result.skipped) out.push({ table: role, path: table.uri, version: result.version, changed: result.changed });
    }
    return out;
  }

  async committedState(key: string): Promise<string | undefined> {
    const snap = await this.targetTable?.tryLatest();
    return snap?.domains.get(stateDomain(key))?.configuration;
  }

  async exportTarget(columns: string[], where: string | undefined, file: string): Promise<boolean> {
    if (!this.targetTable || !(await this.targetTable.tryLatest())) return false;
    const scan = await this.targetTable.scan();
    try {
      await this.compute.run(`COPY (SELECT ${columns.map(sqlIdent).join(', ')} FROM (${scan.sql})${where ? ` WHERE ${where}` : ''}) TO ${sqlString(file)} (FORMAT parquet)`);
    } finally {
      await scan.release();
    }
    return true;
  }

  async rows(table: 'stage' | 'target', options: { where?: string; orderBy?: string; limit?: number } = {}): Promise<Record<string, unknown>[]> {
    const t = table === 'stage' ? this.stageTable : this.targetTable;
    if (!t || !(await t.exists())) return [];
    return t.read(options);
  }

  removeWriteLeftovers() {
    return removeTableLeftovers([this.stageTable, this.targetTable, this.tombstones]);
  }

  close(): void {
    this.stageTable.close();
    this.targetTable?.close();
    this.tombstones?.close();
  }
}
