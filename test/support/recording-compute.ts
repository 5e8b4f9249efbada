import type { Compute, ResultColumn } from '../../src/adapters/compute/compute.ts';

/** A real DuckDB compute that records every statement sent to it (to show which plan ran). */
export class RecordingCompute implements Compute {
  statements: string[] = [];
  constructor(private readonly inner: Compute) {}
  get threads(): number | undefined {
    return this.inner.threads;
  }
  query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    this.statements.push(sql);
    return this.inner.query<T>(sql);
  }
  run(sql: string): Promise<void> {
    this.statements.push(sql);
    return this.inner.run(sql);
  }
  stream(sql: string): AsyncIterable<unknown[][]> {
    this.statements.push(sql);
    return this.inner.stream(sql);
  }
  describe(sql: string): Promise<ResultColumn[]> {
    this.statements.push(sql);
    return this.inner.describe(sql);
  }
  appendIntegers(table: string, columns: readonly (readonly number[])[]): Promise<void> {
    this.statements.push(`(append ${columns[0]?.length ?? 0} rows to ${table})`);
    return this.inner.appendIntegers(table, columns);
  }
  integerColumns(sql: string): Promise<Float64Array[]> {
    this.statements.push(sql);
    return this.inner.integerColumns(sql);
  }
  /** The engine belongs to whoever opened it. */
  close(): void {}
}
