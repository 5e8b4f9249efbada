/**
 * What one measured run does, as JSON: every engine's child process takes the same task shapes
 * (benchmarks/engines/*-task.ts, benchmarks/peers/deltars_bench.py), so one scenario describes its
 * work once and each engine does it its own way.
 */
export type MergeKind = 'upsert' | 'upsert-delete' | 'upsert-if-newer';

/** A column of the pipeline's CSV files, with its type for each engine. */
export interface ColumnType {
  name: string;
  /** DuckDB type (read_csv types). */
  duckdb: string;
  /** Arrow type for delta-rs: string, int64, float64, timestamp, decimal(p,s). */
  arrow: string;
}

export type Task =
  /** Write Parquet files as a new table (DuckDB: CREATE TABLE AS in memory). */
  | { op: 'load'; sources: string[]; table: string; targetFileSize?: number }
  /** Prep only: append each file as its own commit. */
  | { op: 'append'; sources: string[]; table: string }
  /**
   * MERGE one Parquet file into the table on `key`. `columns` are the target's columns. DuckDB
   * first loads `targetSources` into an in-memory table (outside the timer).
   */
  | { op: 'merge'; table: string; source: string; key: string; kind: MergeKind; columns: string[]; targetSources?: string[] }
  /** Compact the table's small files (DuckDB: rewrite `files` as one Parquet file at `output`). */
  | { op: 'optimize'; table: string; targetSize: number; files?: string[]; output?: string }
  /**
   * Whole processes (cli-start): `argv` once unmeasured, then once timed from spawn to exit; the
   * lakelet engine also times `extra` commands (reported as metrics, e.g. --version and `node -e 0`).
   */
  | { op: 'process'; argv: string[]; extra?: Record<string, string[]> }
  /** Open the table (at `version`: time travel) and list its files. */
  | { op: 'snapshot'; table: string; version?: number }
  /**
   * Landed CSV files through stage → archive → dedup → MERGE in batches of `maxFiles`. lakelet runs
   * its real pipeline from `config`; the peers do the same steps by hand.
   */
  | {
      op: 'pipeline';
      config?: string;
      landing: string;
      stage: string;
      target: string;
      archive: string;
      key: string;
      orderBy: string;
      maxFiles: number;
      columns: ColumnType[];
      /**
       * Latency mode: files land one at a time (each engine moves the next file into `landing`
       * only after the previous one reached the target) and each file's time from landing to
       * target commit is reported as `metrics.batchMs`.
       */
      latency?: boolean;
    };

/** What a child reports (plus engine-specific fields such as metrics). */
export interface TaskResult {
  ok: boolean;
  /** The operation's wall time inside the child, ms. */
  wallMs: number;
  /** CPU time (user + system) of the child during the operation, ms. */
  cpuMs: number;
  /** Peak resident set size of the child process over its whole life, bytes. */
  peakRssBytes: number;
  /** Resident set size just before the operation started (runtime + libraries + prep), bytes. */
  rssAtStartBytes: number;
  rows?: number;
  files?: number;
  version?: number;
  metrics?: Record<string, unknown>;
  [extra: string]: unknown;
}
