import type { Compute } from '../adapters/compute/compute.ts';
import type { ObjectStore } from '../adapters/storage/object-store.ts';
import type { Clock, IdSource } from '../adapters/clock.ts';
import type { IngestionLogTable, PipelineTables } from '../warehouse/warehouse.ts';
import type { PipelineConfig } from './config.ts';
import type { BatchState } from './batch-state.ts';
import type { Reporter } from './reporter.ts';

/**
 * Everything a pipeline's batch steps work with: its config, its folders, its tables in the
 * warehouse, its batch state and where it reports. Its own module so that the steps (batch.ts) and
 * what they call (batch-prepare.ts, table-properties.ts) share it without importing each other.
 */
export interface PipelineRuntime {
  pipeline: PipelineConfig;
  compute: Compute;
  clock: Clock;
  ids: IdSource;
  state: BatchState;
  /** The states of pipelines sharing the landing folder (json.path fan-out). */
  siblings: BatchState[];
  landing: ObjectStore;
  archive: ObjectStore;
  quarantine: ObjectStore;
  /** The pipeline's stage and target tables in the warehouse. */
  tables: PipelineTables;
  log: IngestionLogTable;
  reporter: Reporter;
}
