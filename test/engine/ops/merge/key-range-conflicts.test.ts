import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Compute } from '../../../../src/adapters/compute/compute.ts';
import { DeltaTable } from '../../../../src/engine/table.ts';
import { useEngine } from '../../../support/engine-fixture.ts';

/**
 * A MERGE's read scope is the source's key range, worked out only when a concurrent commit has to
 * be checked: another merge that commits in between, inside that range, must make this one re-plan
 * (or a key both insert would be there twice); one outside the range must not.
 */
const fx = useEngine();
let n = 0;

/**
 * The real DuckDB, which runs `between` once, just before the first COPY (the merge writing its
 * files, after it planned and joined): a commit lands while this merge is in flight.
 */
function racingCompute(inner: Compute, between: () => Promise<void>): Compute {
  let fired = false;
  const before = async (sql: string) => {
    if (!fired && sql.startsWith('COPY')) {
      fired = true;
      await between();
    }
  };
  return {
    query: async (sql) => (await before(sql), inner.query(sql)),
    run: async (sql) => (await before(sql), inner.run(sql)),
    stream: (sql) => inner.stream(sql),
    describe: (sql) => inner.describe(sql),
    close: () => {},
  } as Compute;
}

async function raced(otherKey: number): Promise<{ ids: number[]; readVersion: string | undefined }> {
  const dir = join(fx.dir, `t${++n}`);
  const setup = await DeltaTable.forPath(dir, { compute: fx.compute });
  await setup.write({ sql: 'SELECT range::BIGINT AS id, 0 AS v FROM range(1, 11)' }).execute();
  const racer = racingCompute(fx.compute, async () => {
    // The other writer: its own handle, a merge inserting `otherKey`.
    const other = await DeltaTable.forPath(dir, { compute: fx.compute });
    await other.merge({ sql: `SELECT ${otherKey}::BIGINT AS id, 1 AS v` }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
  });
  const t = await DeltaTable.forPath(dir, { compute: racer });
  await t.merge({ sql: 'SELECT range::BIGINT AS id, 2 AS v FROM range(20, 23)' }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
  const ids = (await setup.read()).map((r) => Number(r.id)).sort((a, b) => a - b);
  const last = (await setup.history(1))[0];
  return { ids, readVersion: last.readVersion === undefined ? undefined : String(last.readVersion) };
}

describe('MERGE read scope: the source key range', () => {
  it('a concurrent insert inside the range makes the merge re-plan: the key is there once', async () => {
    const { ids, readVersion } = await raced(21);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 21, 22]);
    // Re-planned on the snapshot holding the other merge's commit (version 1).
    expect(readVersion).toBe('1');
  });

  it('a concurrent insert outside the range does not conflict: the merge commits as planned', async () => {
    const { ids, readVersion } = await raced(50);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 21, 22, 50]);
    // Committed without re-planning: still read version 0.
    expect(readVersion).toBe('0');
  });
});
