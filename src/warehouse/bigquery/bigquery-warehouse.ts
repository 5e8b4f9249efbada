import { isAbsolute, relative } from 'node:path';
import type { Compute } from '../../adapters/compute/compute.ts';
import type { Clock } from '../../adapters/clock.ts';
import { InputError } from '../../errors/lakelet-error.ts';
import type { IngestionLogTable, PipelineTables, PipelineTablesSpec, RemoteFile, RemoteLoad, StageBatch, UpsertSpec, Warehouse, WarehouseCapabilities } from '../warehouse.ts';
import { loadRemoteFile } from './direct-load.ts';
import { BigQueryClient, type BigQuerySettings } from './client.ts';
import { createStateSql, STATE_TABLE, StateCache } from './committed-state.ts';
import { quoteString } from './types.ts';
import { BigQueryIngestionLog, createLogSql } from './ingestion-log.ts';
import { BigQueryBatchLedger, createLedgerSql, LedgerCache } from './ledger.ts';
import { appendBatch, batchCounts, stageColumns, stageRows, trimStage, type StageTables } from './stage.ts';
import { upsertBatch } from './upsert.ts';

/**
 * BigQuery as the warehouse (seed 000's flow): each batch is loaded with a load job into a staging
 * table of its own, MERGEd in GoogleSQL into the target together with its ledger row in one
 * multi-statement transaction, and the staging table is dropped by stage retention. The ingestion
 * log and the batch ledger are tables of the same dataset.
 *
 * Table names: a pipeline's `stage:` / `target:` (and the config's ingestion log) name BigQuery
 * tables of the dataset; the path as written, relative to lakelet.yml (or after gs://bucket/),
 * with every character a table id cannot hold made `_`: `tables/accounts` → `tables_accounts`.
 * So one lakelet.yml serves the Delta and the BigQuery warehouse alike.
 */
export class BigQueryWarehouse implements Warehouse {
  readonly name = 'bigquery';
  /**
   * No time travel (lakelet does not read FOR SYSTEM_TIME AS OF), no Delta table properties; the
   * MERGE and its ledger row commit in one transaction; columns are added with ALTER TABLE; and a
   * load job reads gs:// itself.
   */
  readonly capabilities: WarehouseCapabilities = { timeTravel: false, atomicLedger: true, addColumns: true, loadsRemoteFiles: true };
  readonly client: BigQueryClient;
  private readonly ledger: LedgerCache;
  private readonly states: StateCache;
  private ready: Promise<void> | undefined;

  constructor(
    settings: BigQuerySettings,
    private readonly env: { compute: Compute; clock: Clock; baseDir: string },
  ) {
    this.client = BigQueryClient.open(settings);
    this.ledger = new LedgerCache(this.client);
    this.states = new StateCache(this.client);
  }

  /**
   * The dataset and the ledger (and the ingestion log, when that is what is opened first, as the
   * runner does), created once per warehouse by one script: one job instead of three plus two API calls.
   */
  private setUp(logTable?: string): Promise<void> {
    this.ready ??= this.client
      .query([this.client.createDatasetSql(), createLedgerSql(this.client), createStateSql(this.client), ...(logTable ? [createLogSql(this.client, logTable)] : [])].join(';\n') + ';', 'creating the dataset, the batch ledger, the committed-state table and the ingestion log')
      .then(() => undefined);
    this.ready.catch(() => (this.ready = undefined));
    return this.ready;
  }

  tableId(location: string): string {
    return tableIdFor(location, this.env.baseDir);
  }

  async pipelineTables(spec: PipelineTablesSpec): Promise<PipelineTables> {
    await this.setUp();
    return new BigQueryPipelineTables(spec, this.client, this.ledger, this.states, this.env, this.tableId(spec.stage), spec.target ? this.tableId(spec.target) : undefined);
  }

  async ingestionLog(location: string): Promise<IngestionLogTable> {
    const table = this.tableId(location);
    const first = this.ready === undefined;
    await this.setUp(table);
    if (!first) await this.client.query(createLogSql(this.client, table), `creating the ingestion log ${table}`);
    return new BigQueryIngestionLog(this.client, this.ledger, table);
  }

  /** The pipelines with a row in `_lakelet_state` under the prefix (sync tables commit their state there). */
  async pipelinesUnder(_targetRoot: string, namePrefix: string): Promise<string[]> {
    await this.setUp();
    const rows = await this.client.query<{ pipeline: string }>(
      `SELECT DISTINCT pipeline FROM ${this.client.table(STATE_TABLE)} WHERE STARTS_WITH(pipeline, ${quoteString(namePrefix)}) ORDER BY pipeline`,
      `listing the committed states under ${namePrefix}`,
    );
    return rows.map((r) => r.pipeline.slice(namePrefix.length));
  }

  close(): void {}
}

/** A table id for a configured location (see BigQueryWarehouse). */
export function tableIdFor(location: string, baseDir: string): string {
  const uri = /^[a-z][a-z0-9+.-]*:\/\/[^/]*\/?(.*)$/i.exec(location);
  const path = uri ? uri[1] : isAbsolute(location) ? relative(baseDir, location) : location;
  const id = path.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  if (!id || id.length > 1000) throw new InputError(`'${location}' gives no usable BigQuery table id (letters, digits and _, at most 1024); name the table in lakelet.yml as a short path like tables/accounts`);
  return /^[0-9]/.test(id) ? `t_${id}` : id;
}

class BigQueryPipelineTables implements PipelineTables {
  readonly ledger: BigQueryBatchLedger;
  private readonly stageTables: StageTables;

  constructor(
    private readonly spec: PipelineTablesSpec,
    private readonly client: BigQueryClient,
    private readonly cache: LedgerCache,
    private readonly states: StateCache,
    private readonly env: { compute: Compute; clock: Clock },
    readonly stageTable: string,
    readonly target: string | undefined,
  ) {
    this.ledger = new BigQueryBatchLedger(cache, spec.name, target !== undefined);
    this.stageTables = { client, ledger: cache, compute: env.compute, pipeline: spec.name, stage: stageTable };
    const props = Object.keys({ ...spec.stageProperties, ...spec.targetProperties });
    if (props.length) {
      throw new InputError(`pipeline '${spec.name}': table properties (${props.join(', ')}) are Delta table properties; BigQuery tables take none. Remove properties: from stage/target for warehouse: bigquery.`);
    }
  }

  get hasTarget(): boolean {
    return this.target !== undefined;
  }

  /** `bigquery.loadJobFrom`: gs:// files this big are loaded by a job straight from their URI (direct-load.ts). */
  get remoteLoadFrom(): number | undefined {
    return this.client.settings.loadJobFrom;
  }

  loadRemote(seq: number, index: number, file: RemoteFile): Promise<RemoteLoad> {
    return loadRemoteFile(this.client, this.stageTable, seq, index, file);
  }

  stageColumns() {
    return stageColumns(this.stageTables);
  }

  /** The `_lakelet_state` row the pipeline's last MERGE with this key wrote (committed-state.ts). */
  committedState(key: string): Promise<string | undefined> {
    return this.states.get(this.spec.name, key);
  }

  stage(batch: StageBatch) {
    return appendBatch(this.stageTables, batch, this.env.clock.now());
  }

  stageCounts(seq: number, key: string[]) {
    return batchCounts(this.stageTables, seq, key);
  }

  upsert(spec: UpsertSpec, afterTombstones?: (count: number) => void) {
    if (!this.target) throw new InputError(`pipeline '${this.spec.name}' has no target table to MERGE into; add target: to it in lakelet.yml`);
    return upsertBatch({ client: this.client, ledger: this.cache, pipeline: this.spec.name, stage: this.stageTable, target: this.target, tombstones: this.spec.tombstones, now: () => this.env.clock.now(), states: this.states }, spec, afterTombstones);
  }

  retainStage(upToBatch: number, olderThan: number | undefined) {
    return trimStage(this.stageTables, upToBatch, olderThan);
  }

  /** BigQuery tables carry no Delta properties (the constructor refuses them): nothing to sync. */
  async syncProperties() {
    return [];
  }

  /** Not yet: the key diff would read every target key back out of BigQuery (an export job to GCS is the way). */
  async exportTarget(): Promise<boolean> {
    throw new InputError(`pipeline '${this.spec.name}': key-diff deletes (keyDiff:) need the delta warehouse for now; track deletes with a softDelete column on bigquery`);
  }

  async rows(table: 'stage' | 'target', options: { where?: string; orderBy?: string; limit?: number } = {}): Promise<Record<string, unknown>[]> {
    if (table === 'stage') return stageRows(this.stageTables, options);
    if (!this.target || !(await this.client.columns(this.target))) return [];
    return this.client.query(
      `SELECT * FROM ${this.client.table(this.target)}${options.where ? ` WHERE ${options.where}` : ''}${options.orderBy ? ` ORDER BY ${options.orderBy}` : ''}${options.limit !== undefined ? ` LIMIT ${options.limit}` : ''}`,
      `reading ${this.target}`,
    );
  }

  close(): void {}
}
