import type { ObjectStore } from '../adapters/storage/object-store.ts';

/**
 * The Warehouse seam: where a pipeline's stage and target tables live and where MERGE runs. The
 * pipeline reads and checks landed files itself; it hands the warehouse each batch as Parquet
 * files on an ObjectStore (or, to tables on its own Compute, as a query: `stagesQuery`) plus an
 * upsert spec, and asks it which versions a batch produced. One
 * folder per vendor with the same files in each (kysely's dialects are the model):
 *
 *   <vendor>/<vendor>-warehouse.ts   opens the tables of a pipeline, the ingestion log
 *   <vendor>/stage.ts                append a batch once; its columns; per-file counts; retention
 *   <vendor>/upsert.ts               MERGE one batch into the target: dedup, delete markers, newer wins
 *   <vendor>/tombstones.ts           deletes remember when they happened (no resurrection)
 *   <vendor>/ledger.ts               which stage/target versions did batch N produce?
 *   <vendor>/ingestion-log.ts        one row per landed file per batch
 *
 * `delta` is lakelet's own Delta engine (local disk; GCS next); `bigquery` comes next.
 */

export interface WarehouseCapabilities {
  /** Tables keep old versions a reader can go back to (time travel, history). */
  readonly timeTravel: boolean;
  /** A batch's MERGE and its ledger entry commit together, so a crash between them cannot happen. */
  readonly atomicLedger: boolean;
  /** Columns can be added to existing stage/target tables (schemaDrift: evolve). */
  readonly addColumns: boolean;
  /** Reads batch Parquet from a remote ObjectStore itself (a BigQuery load job from gs://). */
  readonly loadsRemoteFiles: boolean;
}

/** A column as the pipeline's checks see it (DuckDB type names). */
export interface Column {
  name: string;
  type: string;
}

/** Lineage columns every stage row carries. */
export const LINEAGE = ['_batch', '_source_file', '_ingested_at', '_row_number'] as const;
export const RESCUED = '_rescued_data';

/** One batch for the stage table: its rows (lineage included) as Parquet files. */
export interface StageBatch {
  seq: number;
  files: { store: ObjectStore; key: string }[];
  /**
   * The batch's rows as a query on the pipeline's Compute, in place of `files`, for tables whose
   * `stagesQuery` is set (they run on that Compute): no Parquet hand-off written and read back.
   */
  query?: string;
  /** New columns may be added to the stage (schemaDrift: evolve, or a `_rescued_data` to add). */
  addColumns: boolean;
  /**
   * Landed files the warehouse already loaded itself with {@link PipelineTables.loadRemote} (their
   * `index` in the batch); staged with their lineage (`_ingested_at` = `ingestedAt`) beside `files`.
   */
  remote?: { key: string; index: number }[];
  ingestedAt?: number;
}

/** A landed file a warehouse loads itself from its URI (seed 004's dispatch: a BigQuery load job from gs://). */
export interface RemoteFile {
  /** The landing key (the rows' `_source_file`). */
  key: string;
  /** Where the warehouse reads it: `gs://bucket/path`. */
  uri: string;
  size: number;
  format: 'parquet' | 'csv' | 'ndjson';
  csv?: { delimiter?: string; header?: boolean; quote?: string; nullString?: string };
  /** The file's columns when known without reading it (a Parquet footer): the load's explicit schema. */
  columns?: Column[];
}

/** What loading a remote file gave. */
export interface RemoteLoad {
  rows: number;
  /** Records the load left out and tolerated (BigQuery's maxBadRecords). */
  badRecords: number;
  /** The load's error list as the warehouse reported it (tolerated bad records, or why it failed). */
  errors: { reason?: string; location?: string; message?: string }[];
  /** Why the file could not be loaded at all (too many bad records, not a readable file): it is quarantined. */
  failed?: string;
  /** The file's columns (DuckDB names), when it loaded. */
  columns: Column[];
}

/** How a batch's stage rows go into the target. */
export interface UpsertSpec {
  seq: number;
  key: string[];
  /** The newer row wins by this column (then arrival); none: arrival order alone. */
  orderBy?: string;
  deletes?: { column: string; values: (string | number | boolean)[] };
  partitionBy: string[];
  /** The batch's source files in arrival order: ties of orderBy go to the later file. */
  fileOrder: string[];
  /** Columns new to the target are added (evolve) or left out. */
  addColumns: boolean;
  /**
   * A matched row is updated only when a column differs: a source re-read (a sync's lookback
   * window) then neither rewrites nor counts unchanged rows.
   */
  changedOnly?: boolean;
  /** State committed atomically with this MERGE (see {@link CommittedState}). */
  state?: CommittedState;
  /**
   * The batch's stage rows as a query on the warehouse's own Compute, when the caller still holds
   * them in it: the very query the stage step appended (StageBatch.query) in this process. A
   * warehouse that stages queries (stagesQuery) may read them there instead of reading the stage
   * files it just wrote back; the stage table stays the truth (a redo after a crash reads it).
   */
  heldRows?: string;
}

/**
 * An application's state that must change exactly when the target does, e.g. a database sync's
 * watermark: stored in the same transaction as the batch's MERGE, so after a crash the state and the
 * data agree (never data without its watermark, nor a watermark ahead of its data). Delta: a
 * `domainMetadata` action in the MERGE's commit (domain `lakelet.state.<key>`). BigQuery: a row
 * (key, value, committed_at) upserted in the dataset's `_lakelet_state` table inside the MERGE's
 * multi-statement transaction. Read back with {@link PipelineTables.committedState}.
 */
export interface CommittedState {
  key: string;
  /** Opaque to the warehouse (JSON text). */
  value: string;
}

export interface MergeCounts {
  inserted: number;
  updated: number;
  deleted: number;
  deduplicated: number;
}

export interface StageResult {
  version: number;
  rows: number;
  /** Already staged by an earlier attempt: nothing was written. */
  skipped: boolean;
}

export interface UpsertResult {
  version: number;
  metrics: MergeCounts;
  skipped: boolean;
}

/** The batch ledger: what a batch produced, answered from the tables themselves. */
export interface BatchLedger {
  stageVersion(seq: number): Promise<number | undefined>;
  targetVersion(seq: number): Promise<number | undefined>;
  /** The counts the MERGE of a batch recorded (after a crash, from the table's history). */
  mergeCounts(targetVersion: number): Promise<MergeCounts>;
}

/** The stage and target tables of one pipeline. */
export interface PipelineTables {
  readonly ledger: BatchLedger;
  readonly hasTarget: boolean;
  /** Stage columns without lineage (with `_rescued_data` when the stage has it); undefined: no stage yet. */
  stageColumns(): Promise<Column[] | undefined>;
  /**
   * Why a column of this type cannot be stored in the stage/target tables (undefined: it can). The
   * pipeline asks when a file brings a new column, so such a file is quarantined when it is
   * planned instead of failing its batch's stage commit (and every redo of it) for good.
   */
  unstorable?(column: Column): string | undefined;
  /** `stage()` takes a batch as a query on the pipeline's Compute (StageBatch.query) instead of Parquet files. */
  readonly stagesQuery?: boolean;
  /** Appends a batch once (a repeat returns the version that staged it). */
  stage(batch: StageBatch): Promise<StageResult>;
  /** Per source file of a staged batch: rows with no key (not merged) and rows with rescued data. */
  stageCounts(seq: number, key: string[]): Promise<Map<string, { rejected: number; rescued: number }>>;
  /** MERGEs a staged batch into the target once; `afterTombstones` runs once its tombstones are committed. */
  upsert(spec: UpsertSpec, afterTombstones?: (count: number) => void): Promise<UpsertResult & { tombstones: number }>;
  /** Removes finished batches (up to `upToBatch`) older than `olderThan` (ms since the epoch; undefined: all) from the stage. */
  retainStage(upToBatch: number, olderThan: number | undefined): Promise<{ deletedRows: number; vacuumedFiles: number }>;
  /**
   * Brings existing tables' properties to the spec's (tables created later get them on creation);
   * returns what changed. Properties the spec no longer names stay.
   */
  syncProperties(): Promise<{ table: 'stage' | 'target'; path: string; version: number; changed: Record<string, { from?: string; to: string }> }[]>;
  /**
   * Landed files at or above this many bytes, on a remote landing the warehouse can read, are loaded
   * by the warehouse itself ({@link loadRemote}) instead of being read here; undefined: never.
   */
  readonly remoteLoadFrom?: number;
  /** Loads landed file `index` of batch `seq` from its URI into a table of its own (a redo replaces it). */
  loadRemote?(seq: number, index: number, file: RemoteFile): Promise<RemoteLoad>;
  /** The value last committed with a MERGE into the target under `key` (undefined: never). */
  committedState(key: string): Promise<string | undefined>;
  /**
   * Writes these target columns, of the rows matching `where` (DuckDB SQL over the target's
   * columns), to a local Parquet file, streamed (a sync's key diff); false: no target yet.
   */
  exportTarget(columns: string[], where: string | undefined, file: string): Promise<boolean>;
  /** Rows of the stage or target, for notebooks and status (small reads only). */
  rows(table: 'stage' | 'target', options?: { where?: string; orderBy?: string; limit?: number }): Promise<Record<string, unknown>[]>;
  /**
   * Removes what writers killed half-way left in the pipeline's table folders (temp files, staging
   * folders) and is clearly abandoned: never a live writer's. Optional: warehouses whose writes
   * leave nothing behind have none.
   */
  removeWriteLeftovers?(): Promise<TableLeftovers[]>;
  close(): void;
}

/** A table folder and the paths removed from it as a killed writer's leftovers. */
export interface TableLeftovers {
  table: string;
  removed: string[];
}

export type FileStatus = 'staged' | 'merged' | 'quarantined' | 'duplicate' | 'replaced' | 'requeued';

/** One ingestion-log row: what became of one landed file in one batch (seed 004's info table). */
export interface LogRow {
  pipeline: string;
  batch: number;
  file_name: string;
  size: number;
  sha256: string;
  records: number;
  rows_rejected: number;
  rows_rescued: number;
  status: FileStatus;
  stage_version: number | null;
  target_version: number | null;
  read_ms: number;
  stage_ms: number;
  merge_ms: number;
  total_ms: number;
  error: string | null;
  repaired: boolean;
  repairs: string | null;
  moved_to: string | null;
  logged_at: number;
  /** How the file reached the warehouse: read here (`in-process`) or loaded by it from its URI (`load-job`). */
  load_path?: 'in-process' | 'load-job';
}

export interface IngestionLogTable {
  /** The highest batch of the pipeline whose rows are in the log (0: none). */
  appliedVersion(pipeline: string): Promise<number>;
  /** Appends a batch's rows once; returns the log's version. */
  append(pipeline: string, seq: number, rows: LogRow[]): Promise<number>;
  /** Appends rows that belong to no batch (a requeue). */
  record(rows: LogRow[]): Promise<number>;
  /** Rows, newest first. */
  read(options?: { pipeline?: string; limit?: number }): Promise<Record<string, unknown>[]>;
  /** As PipelineTables.removeWriteLeftovers, for the log's own table. */
  removeWriteLeftovers?(): Promise<TableLeftovers[]>;
  close(): void;
}

/** Where a pipeline's tables are and how they are set up. */
export interface PipelineTablesSpec {
  name: string;
  stage: string;
  target?: string;
  stageProperties: Record<string, string>;
  targetProperties: Record<string, string>;
  /** Where the warehouse may keep the pipeline's own bookkeeping (tombstones). */
  stateDir: string;
  /** Whether deletes need tombstones (a delete marker and an orderBy). */
  tombstones: boolean;
}

/** One row of seed 003's sync metadata table: where one source table's sync stands. */
export interface SyncMetadataRow {
  source: string;
  table_name: string;
  target: string;
  /** The committed watermark as the source prints it (null: a table synced in full). */
  last_sync_timestamp: string | null;
  /** The keyset position with it (JSON array of key values). */
  last_sync_key: string | null;
  rows_synced: number;
  rows_total: number;
  batch: number;
  /** ms since the epoch: when the committed run started reading, and when it committed. */
  last_run: number;
  updated_at: number;
}

/**
 * Seed 003's metadata table as a table anyone can read (`lakelet read`): a copy derived from the
 * states committed with each target (the truth), replaced by a sync after its tables are done.
 */
export interface SyncMetadataTable {
  /** Makes the table hold exactly these rows (no commit when it already does); returns whether it changed. */
  replace(rows: SyncMetadataRow[]): Promise<boolean>;
  read(): Promise<Record<string, unknown>[]>;
  close(): void;
}

export interface Warehouse {
  readonly name: string;
  readonly capabilities: WarehouseCapabilities;
  pipelineTables(spec: PipelineTablesSpec): Promise<PipelineTables>;
  ingestionLog(location: string): Promise<IngestionLogTable>;
  /**
   * The sync metadata table at `location` (undefined: the warehouse has its own readable form of
   * the committed states, e.g. BigQuery's `_lakelet_state` table, written in the MERGE's transaction).
   */
  syncMetadata?(location: string): Promise<SyncMetadataTable>;
  /**
   * The pipelines named `<namePrefix><rest>` whose tables this warehouse holds, as `rest` (a
   * sync's table slugs, for its status): Delta finds them as the folders under `targetRoot`,
   * BigQuery as the pipelines of its committed-state table. A name may have no committed state yet.
   */
  pipelinesUnder(targetRoot: string, namePrefix: string): Promise<string[]>;
  close(): void;
}
