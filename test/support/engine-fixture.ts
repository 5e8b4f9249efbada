import { afterAll, beforeAll } from 'vitest';
import { Compute } from '../../src/adapters/compute/duckdb.ts';
import { tempDir } from './temp.ts';

export interface EngineFixture {
  compute: Compute;
  /** A temp directory for this test file's tables, removed after it. */
  dir: string;
}

/** One DuckDB (1 GB memory limit) and one temp directory per test file, closed and removed after it. */
export function useEngine(prefix = 'lakelet-test-'): EngineFixture {
  const fixture = {} as EngineFixture;
  let cleanup: (() => void) | undefined;
  beforeAll(async () => {
    fixture.compute = await Compute.open({ memoryLimit: '1GB' });
    const tmp = tempDir(prefix);
    fixture.dir = tmp.dir;
    cleanup = tmp.cleanup;
  });
  afterAll(() => {
    fixture.compute?.close();
    cleanup?.();
  });
  return fixture;
}
