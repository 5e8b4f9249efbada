import type { Compute, ResultColumn } from './compute.ts';

/**
 * A Compute that opens the real one on first use. A table handle that only opens a snapshot
 * (lakelet's own checkpoints are decoded without SQL) then never loads DuckDB's native module nor
 * creates an instance, which is most of what opening a table used to cost. `close()` before any
 * use closes nothing; after close the handle refuses new work rather than open a second engine.
 */
export class LazyCompute implements Compute {
  private opening: Promise<Compute> | undefined;
  private opened: Compute | undefined;
  private closed = false;

  constructor(private readonly open: () => Promise<Compute>) {}

  /** Whether the underlying engine has been asked for (tests and diagnostics). */
  get started(): boolean {
    return this.opening !== undefined;
  }

  /**
   * Starts the engine in the background without waiting for it, for a caller that knows SQL is
   * coming (`lakelet read`): DuckDB's instance then comes up on its own threads while the snapshot
   * is read. A failure to start surfaces on the first use, as it would have without this.
   */
  start(): void {
    if (this.closed || this.opening) return;
    this.engine().catch(() => undefined);
  }

  private engine(): Promise<Compute> {
    if (this.closed) return Promise.reject(new Error('this table handle is closed; open the table again to run SQL.'));
    this.opening ??= this.open().then((engine) => (this.opened = engine));
    return this.opening;
  }

  get threads(): number | undefined {
    return this.opened?.threads;
  }

  async query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    return (await this.engine()).query<T>(sql);
  }

  async run(sql: string): Promise<void> {
    return (await this.engine()).run(sql);
  }

  async *stream(sql: string): AsyncIterable<unknown[][]> {
    yield* (await this.engine()).stream(sql);
  }

  async describe(sql: string): Promise<ResultColumn[]> {
    return (await this.engine()).describe(sql);
  }

  async appendIntegers(table: string, columns: readonly (readonly number[])[]): Promise<void> {
    return (await this.engine()).appendIntegers(table, columns);
  }

  async integerColumns(sql: string): Promise<Float64Array[]> {
    return (await this.engine()).integerColumns(sql);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // An engine still starting is closed as soon as it is up; one that failed to start needs nothing.
    this.opening?.then(
      (c) => c.close(),
      () => undefined,
    );
  }
}
