import { afterAll, beforeAll } from 'vitest';
import type { Compute } from '../../src/adapters/compute/compute.ts';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
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
    fixture.compute = await openCompute({ memoryLimit: '1GB' });
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
