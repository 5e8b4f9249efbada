import type { Compute, ComputeOptions } from './compute.ts';
import { DuckDbCompute } from './duckdb/duckdb-compute.ts';

/** Opens the default Compute: an embedded DuckDB (the one implementation of the port today). */
export function openCompute(options: ComputeOptions = {}): Promise<Compute> {
  return DuckDbCompute.open(options);
}
