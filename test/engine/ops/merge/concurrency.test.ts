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

// With deletion vectors, racing merges mark rows of the same files in different DVs: a DV written
// on top of a stale one would resurrect the rows the winner deleted, so it must conflict and retry.
describe.each([
  { mode: 'copy-on-write', props: {} as Record<string, string> },
  { mode: 'deletion vectors', props: { 'delta.enableDeletionVectors': 'true' } as Record<string, string> },
])('concurrent MERGE from real processes ($mode)', ({ props }) => {
  it('merges into disjoint partitions all commit without conflicts', async () => {
    const t = await DeltaTable.forPath(join(fx.dir, `disjoint-${Object.keys(props).length}`), { compute: fx.compute });
    await t.write({ sql: 'SELECT range AS id, range % 3 AS p, 0 AS n FROM range(3)' }).partitionBy('p').properties(props).execute();
    const results = await Promise.all([0, 1, 2].map((w) => runWorker(dirOf(t), 'partition', w, 4)));
    expect(results.map((r) => r.conflicts)).toEqual([0, 0, 0]);
    expect(results.map((r) => r.committed)).toEqual([4, 4, 4]);
    const counts = await fx.compute.query<{ p: number; c: string }>(`SELECT p, count(*) AS c FROM (${(await t.scan()).sql}) GROUP BY p ORDER BY p`);
    // Partition 0: 40 upserted keys, one of which (id 0) already existed; partitions 1, 2: 40 new + 1 old.
    expect(counts.map((r) => Number(r.c))).toEqual([40, 41, 41]);
    t.close();
  });

  it('overlapping merges never lose an update: every committed increment is in the table', async () => {
    const t = await DeltaTable.forPath(join(fx.dir, `overlap-${Object.keys(props).length}`), { compute: fx.compute });
    // Ids 20..39 are never matched: their file keeps rows, so with DVs it carries a DV.
    await t.write({ sql: 'SELECT range AS id, 0 AS n FROM range(40)' }).properties(props).execute();
    const results = await Promise.all([0, 1, 2].map((w) => runWorker(dirOf(t), 'increment', w, 3)));
    const committed = results.reduce((a, r) => a + r.committed, 0);
    expect(committed).toBeGreaterThan(0);
    const rows = await t.read();
    expect(rows).toHaveLength(40);
    // Each committed merge added exactly 1 to every matched row; a lost update would leave less.
    expect(new Set(rows.filter((r) => Number(r.id) < 20).map((r) => Number(r.n)))).toEqual(new Set([committed]));
    expect(new Set(rows.filter((r) => Number(r.id) >= 20).map((r) => Number(r.n)))).toEqual(new Set([0]));
    const merges = (await t.history()).filter((h) => h.operation === 'MERGE');
    expect(merges).toHaveLength(committed);
    if (Object.keys(props).length) {
      // Every merge marked rows in a DV rather than rewriting: no merge copied a row.
      for (const m of merges) expect(m.operationMetrics.numTargetRowsCopied).toBe('0');
      expect((await t.snapshot()).files.some((f) => f.deletionVector)).toBe(true);
    }
    t.close();
  });
});
