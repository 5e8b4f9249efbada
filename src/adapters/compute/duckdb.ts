import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duckDbIoError } from '../io-error.ts';

/**
 * The compute seam: one embedded DuckDB, configured to run offline (no extension downloads: only
 * the extensions built into the npm package — parquet, json, icu, core_functions — are used),
 * memory-bounded, and spilling to a temp directory instead of running out of memory.
 */
export interface ComputeOptions {
  /** e.g. '2GB'. Default: DuckDB's default (80% of RAM) capped at 4GB. */
  memoryLimit?: string;
  threads?: number;
  /** Where DuckDB spills. Default: <os tmp>/lakelet-spill. */
  spillDirectory?: string;
}

export class Compute {
  private constructor(
    readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
  ) {}

  static async open(options: ComputeOptions = {}): Promise<Compute> {
    const spill = options.spillDirectory ?? join(tmpdir(), 'lakelet-spill');
    mkdirSync(spill, { recursive: true });
    const config: Record<string, string> = {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      memory_limit: options.memoryLimit ?? process.env.LAKELET_MEMORY_LIMIT ?? '4GB',
      temp_directory: spill,
    };
    if (options.threads) config.threads = String(options.threads);
    const instance = await DuckDBInstance.create(':memory:', config);
    const connection = await instance.connect();
    // UTC everywhere: Delta timestamps are UTC instants; results must not depend on the laptop's zone.
    await connection.run("SET TimeZone = 'UTC'");
    return new Compute(instance, connection);
  }

  /** Runs SQL and returns rows as JSON-safe objects (bigints/decimals as strings). */
  async query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const started = TRACE ? performance.now() : 0;
    const reader = await this.connection.runAndReadAll(sql).catch((err: unknown) => {
      throw duckDbIoError(err);
    });
    if (TRACE) trace(sql, started);
    return reader.getRowObjectsJson() as unknown as T[];
  }

  async run(sql: string): Promise<void> {
    const started = TRACE ? performance.now() : 0;
    await this.connection.run(sql).catch((err: unknown) => {
      throw duckDbIoError(err);
    });
    if (TRACE) trace(sql, started);
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** LAKELET_TRACE_SQL=1 prints every statement's duration to stderr, for finding slow steps. */
const TRACE = process.env.LAKELET_TRACE_SQL === '1';
function trace(sql: string, started: number): void {
  process.stderr.write(`[sql ${(performance.now() - started).toFixed(1)} ms] ${sql.replace(/\s+/g, ' ').slice(0, 200)}\n`);
}

/** SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** SQL identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
