/** Synthetic data for pipelines and benchmarks: deterministic, generated inside DuckDB. */
export { accounts } from './accounts.ts';
export { orders, ORDER_STATUSES, CARRIERS, LOCATIONS } from './orders.ts';
export type { SyntheticDataset, RowContext } from './dataset.ts';
export { prepareBatchKeys, type BatchKeySpec, type BatchKeys, type KeyOrder, type RowOp } from './batch-keys.ts';
export { writeBatch, extensionOf, OUTPUT_FORMATS, type OutputFormat, type WrittenFile } from './batch-writer.ts';
export {
  DATASETS,
  GENERATE_DEFAULTS,
  datasetNamed,
  generate,
  generateBatch,
  planGenerate,
  type GenerateOptions,
  type GenerateResult,
  type GeneratedFile,
} from './generate.ts';
