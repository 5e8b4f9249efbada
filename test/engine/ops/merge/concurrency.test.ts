import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeltaTable } from '../../../../src/engine/table.ts';
import { dirOf } from '../../../support/temp.ts';
import { useEngine } from '../../../support/engine-fixture.ts';
import { runTsxOk } from '../../../support/process.ts';

const fx = useEngine();

/** One merging process (fixtures/concurrent-merger.ts); its JSON line says what it committed. */
async function runWorker(dir: string, mode: string, worker: number, rounds: number): Promise<{ committed: number; conflicts: number }> {
  const script = fileURLToPath(new URL('fixtures/concurrent-merger.ts', import.meta.url));
  const run = await runTsxOk(script, [dir, mode, String(worker), String(rounds)]);
  return JSON.parse(run.stdout);
}

describe('concurrent MERGE from real processes', () => {
  it('merges into disjoint partitions all commit without conflicts', async () => {
    const t = await DeltaTable.forPath(join(fx.dir, 'disjoint'), { compute: fx.compute });
    await t.write({ sql: 'SELECT range AS id, range % 3 AS p, 0 AS n FROM range(3)' }).partitionBy('p').execute();
    const results = await Promise.all([0, 1, 2].map((w) => runWorker(dirOf(t), 'partition', w, 4)));
    expect(results.map((r) => r.conflicts)).toEqual([0, 0, 0]);
    expect(results.map((r) => r.committed)).toEqual([4, 4, 4]);
    const counts = await fx.compute.query<{ p: number; c: string }>(`SELECT p, count(*) AS c FROM (${(await t.scan()).sql}) GROUP BY p ORDER BY p`);
    // Partition 0: 40 upserted keys, one of which (id 0) already existed; partitions 1, 2: 40 new + 1 old.
    expect(counts.map((r) => Number(r.c))).toEqual([40, 41, 41]);
    t.close();
  });

  it('overlapping merges never lose an update: every committed increment is in the table', async () => {
    const t = await DeltaTable.forPath(join(fx.dir, 'overlap'), { compute: fx.compute });
    await t.write({ sql: 'SELECT range AS id, 0 AS n FROM range(20)' }).execute();
    const results = await Promise.all([0, 1, 2].map((w) => runWorker(dirOf(t), 'increment', w, 3)));
    const committed = results.reduce((a, r) => a + r.committed, 0);
    expect(committed).toBeGreaterThan(0);
    const rows = await t.read();
    expect(rows).toHaveLength(20);
    // Each committed merge added exactly 1 to every row; a lost update would leave less.
    expect(new Set(rows.map((r) => Number(r.n)))).toEqual(new Set([committed]));
    const merges = (await t.history()).filter((h) => h.operation === 'MERGE');
    expect(merges).toHaveLength(committed);
    t.close();
  });
});
