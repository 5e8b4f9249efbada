import type { DuckDBInstance, DuckDBConnection, DuckDBListType, DuckDBArrayType, DuckDBMapType, DuckDBStructType, DuckDBType } from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../../errors/lakelet-error.ts';
import { duckDbIoError } from '../../io-error.ts';
import type { ColumnType, Compute, ComputeOptions, ResultColumn } from '../compute.ts';

/**
 * The Compute port on one embedded DuckDB, configured to run offline (no extension downloads: only
 * the extensions built into the npm package — parquet, json, icu, core_functions — are used),
 * memory-bounded, and spilling to a temp directory instead of running out of memory. The only file
 * that imports `@duckdb/node-api`.
 */
export class DuckDbCompute implements Compute {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    /** DuckDB's threads setting: the one given, else one per core (DuckDB's own default). */
    readonly threads: number,
  ) {}

  /**
   * Loads DuckDB's client (its native module: ~0.2 s) without opening anything. open() does it
   * itself; a caller that knows SQL is coming may do it earlier (the benchmarks do, before timing).
   */
  static async load(): Promise<void> {
    // Loaded here, not at import: `lakelet --help` and every command that never queries would
    // otherwise pay for it. `.default` (the package's own default export, the whole API) is the
    // same object whether Node loads the package or the build bundled it (esbuild's chunk of a
    // CommonJS module exports only a default). Once loaded, open() skips the import: through a
    // loader hook (tsx) even an import of a loaded module took 2–9 ms.
    duckdb ??= (await import('@duckdb/node-api')).default;
  }

  static async open(options: ComputeOptions = {}): Promise<DuckDbCompute> {
    if (!duckdb) await DuckDbCompute.load();
    const spill = options.spillDirectory ?? join(tmpdir(), 'lakelet-spill');
    mkdirSync(spill, { recursive: true });
    const config: Record<string, string> = {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      memory_limit: options.memoryLimit ?? process.env.LAKELET_MEMORY_LIMIT ?? '4GB',
      temp_directory: spill,
    };
    const threads = options.threads ?? threadsFromEnv();
    if (threads) config.threads = String(threads);
    const opening = TRACE ? performance.now() : 0;
    const instance = await duckdb!.DuckDBInstance.create(':memory:', config);
    if (TRACE) process.stderr.write(`[duckdb @${opening.toFixed(0)} instance created in ${(performance.now() - opening).toFixed(1)} ms]\n`);
    const connection = await instance.connect();
    // UTC everywhere: Delta timestamps are UTC instants; results must not depend on the laptop's zone.
    await connection.run("SET TimeZone = 'UTC'");
    return new DuckDbCompute(instance, connection, threads ?? availableParallelism());
  }

  async query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const started = TRACE ? traceStart() : undefined;
    const reader = await this.connection.runAndReadAll(sql).catch((err: unknown) => {
      throw duckDbIoError(err);
    });
    if (started) trace(sql, started);
    return reader.getRowObjectsJson() as unknown as T[];
  }

  async run(sql: string): Promise<void> {
    const started = TRACE ? traceStart() : undefined;
    await this.connection.run(sql).catch((err: unknown) => {
      throw duckDbIoError(err);
    });
    if (started) trace(sql, started);
  }

  /** DuckDB's own chunks (2048-row vectors), one at a time. */
  async *stream(sql: string): AsyncIterable<unknown[][]> {
    const result = await this.connection.stream(sql).catch((err: unknown) => {
      throw duckDbIoError(err);
    });
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) return;
      yield chunk.getRows();
    }
  }

  async describe(sql: string): Promise<ResultColumn[]> {
    const prepared = await this.connection.prepare(sql);
    try {
      const columns: ResultColumn[] = [];
      for (let i = 0; i < prepared.columnCount; i++) columns.push({ name: prepared.columnName(i), type: columnType(prepared.columnType(i)) });
      return columns;
    } finally {
      prepared.destroySync();
    }
  }

  /**
   * Through DuckDB's appender, 2,048 rows (one vector) at a time. 30,000 deleted rows' positions
   * took 4–5 ms this way against 12–18 ms as one INSERT of a JSON list (parsing the statement's
   * 200 KB literal, then the JSON).
   */
  async appendIntegers(table: string, columns: readonly (readonly number[])[]): Promise<void> {
    const started = TRACE ? traceStart() : undefined;
    const { DuckDBDataChunk, DuckDBTypeId } = duckdb!;
    const appender = await this.connection.createAppender(table).catch((err: unknown) => {
      throw duckDbIoError(err);
    });
    try {
      if (appender.columnCount !== columns.length) throw new Error(`${table} has ${appender.columnCount} columns, ${columns.length} given`);
      if (columns.some((c) => c.length !== columns[0].length)) throw new Error(`${table}: the columns given differ in length (${columns.map((c) => c.length).join(', ')})`);
      const types = columns.map((_, i) => appender.columnType(i));
      const big = types.map((t) => {
        if (t.typeId !== DuckDBTypeId.BIGINT && t.typeId !== DuckDBTypeId.INTEGER) throw new Error(`${table}: column ${t.toString()} is not INTEGER or BIGINT`);
        return t.typeId === DuckDBTypeId.BIGINT;
      });
      const rows = columns[0]?.length ?? 0;
      for (let from = 0; from < rows; from += VECTOR_ROWS) {
        const to = Math.min(rows, from + VECTOR_ROWS);
        const chunk = DuckDBDataChunk.create(types, to - from);
        columns.forEach((values, i) => chunk.setColumnValues(i, big[i] ? values.slice(from, to).map(BigInt) : values.slice(from, to)));
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    if (started) trace(`(appended ${columns[0]?.length ?? 0} rows to ${table})`, started);
  }

  /**
   * Each chunk's vector read as the typed array DuckDB filled (no JS value per cell). The client's
   * objects per 2,048-row chunk cost most of it: 500,000 pairs took 15–20 ms to read in a warm
   * process. Rows with a NULL are left out (the callers' queries have none).
   */
  async integerColumns(sql: string): Promise<Float64Array[]> {
    const started = TRACE ? traceStart() : undefined;
    const { DuckDBIntegerVector, DuckDBBigIntVector } = duckdb!;
    const result = await this.connection.run(`SELECT * FROM (${sql}) WHERE COLUMNS(*) IS NOT NULL`).catch((err: unknown) => {
      throw duckDbIoError(err);
    });
    const chunks = Array.from({ length: result.chunkCount }, (_, k) => result.getChunk(k));
    const rows = chunks.reduce((n, chunk) => n + chunk.rowCount, 0);
    const out = Array.from({ length: result.columnCount }, () => new Float64Array(rows));
    let at = 0;
    for (const chunk of chunks) {
      const n = chunk.rowCount;
      out.forEach((column, c) => {
        const vector = chunk.getColumnVector(c);
        if (!(vector instanceof DuckDBIntegerVector || vector instanceof DuckDBBigIntVector)) {
          throw new Error(`integerColumns: column ${c + 1} is ${vector.type.toString()}, not INTEGER or BIGINT`);
        }
        // The vector's own typed array over DuckDB's memory: a field the package's typings keep
        // private (@duckdb/node-api is pinned; the DV tests fail here should a release drop it).
        const items = (vector as unknown as { items?: unknown }).items;
        if (items instanceof Int32Array) column.set(items.subarray(0, n), at);
        else if (items instanceof BigInt64Array) copyBigInts(items, n, column, at);
        else throw new Error(`integerColumns: this @duckdb/node-api keeps no typed array in its ${vector.type.toString()} vectors`);
      });
      at += n;
    }
    if (started) trace(`${sql} (${at} rows read as integers)`, started);
    return out;
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

let duckdb: typeof import('@duckdb/node-api').default | undefined;

/** This platform lays typed arrays out little-endian (every Node target does). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * BIGINTs into numbers, exact up to 2^53: read as their two 32-bit halves where the platform is
 * little-endian (a BigInt per value would cost several times more); larger magnitudes are refused.
 */
function copyBigInts(items: BigInt64Array, n: number, into: Float64Array, at: number): void {
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < n; i++) into[at + i] = safeNumber(items[i]);
    return;
  }
  const halves = new Int32Array(items.buffer, items.byteOffset, n * 2);
  for (let i = 0; i < n; i++) {
    const hi = halves[2 * i + 1];
    const lo = halves[2 * i] >>> 0;
    // -2^53 < value < 2^53: the high half in [-2^21, 2^21), and not -2^53 itself.
    if (hi >= 0x200000 || hi < -0x200000 || (hi === -0x200000 && lo === 0)) throw new RangeError(`integerColumns: ${items[i]} is beyond 2^53, not exact as a number`);
    into[at + i] = hi * 4294967296 + lo;
  }
}

function safeNumber(v: bigint): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`integerColumns: ${v} is beyond 2^53, not exact as a number`);
  return n;
}

/** Rows in one DuckDB data chunk (a vector), the most an appended chunk may hold. */
const VECTOR_ROWS = 2048;

/**
 * LAKELET_THREADS=n sets DuckDB's threads (default: one per core), for a machine shared with other
 * work. With 2 threads, the thread that issued a statement spends its time in DuckDB's task loop
 * (ExecuteTask, queue dequeue, mutex: perf on a pipeline run) while the worker runs a phase with one
 * task. Measured on 2 cores (1,000 small CSV files, and 50 files landing one by one, through the
 * pipeline): 1 thread used 20-35% less CPU; at load 5 the wall time was about the same or up to 10%
 * longer, at load 8+ about half. The default stays: a quiet machine gains from the threads.
 */
function threadsFromEnv(): number | undefined {
  const raw = process.env.LAKELET_THREADS;
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`LAKELET_THREADS must be a whole number of threads, 1 or more (got '${raw}'); unset it to use one per core`);
  return n;
}

function columnType(type: DuckDBType): ColumnType {
  const { DuckDBTypeId } = duckdb!;
  switch (type.typeId) {
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      return { kind: 'struct', fields: struct.entryNames.map((name, i) => ({ name, type: columnType(struct.entryTypes[i]) })) };
    }
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return { kind: 'list', element: columnType((type as DuckDBListType | DuckDBArrayType).valueType) };
    case DuckDBTypeId.MAP: {
      const map = type as DuckDBMapType;
      return { kind: 'map', key: columnType(map.keyType), value: columnType(map.valueType) };
    }
    default:
      return { kind: 'scalar', name: DuckDBTypeId[type.typeId] };
  }
}

/**
 * LAKELET_TRACE_SQL=1 prints every statement's wall time and the process's CPU time (all threads,
 * DuckDB's included: statements run one at a time) to stderr, for finding slow steps. CPU time is
 * the steadier measure on a loaded machine. `@` is when it started (ms since the process did), and
 * the instance's creation is traced too: the gaps between are JavaScript's.
 */
const TRACE = process.env.LAKELET_TRACE_SQL === '1';
interface TraceStart {
  wall: number;
  cpu: NodeJS.CpuUsage;
}
function traceStart(): TraceStart {
  return { wall: performance.now(), cpu: process.cpuUsage() };
}
function trace(sql: string, started: TraceStart): void {
  const cpu = process.cpuUsage(started.cpu);
  const cpuMs = ((cpu.user + cpu.system) / 1000).toFixed(1);
  process.stderr.write(`[sql @${started.wall.toFixed(0)} ${(performance.now() - started.wall).toFixed(1)} ms, cpu ${cpuMs} ms] ${sql.replace(/\s+/g, ' ').slice(0, Number(process.env.LAKELET_TRACE_SQL_CHARS ?? 200))}\n`);
}
