import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaTable } from '../../../../src/engine/table.ts';
import { useEngine } from '../../../support/engine-fixture.ts';

/**
 * A file's key bounds in its stats may not type at all (another writer recorded `"abc"` for an
 * integer or a malformed date): such a file cannot be pruned, so it is read, and the MERGE gives
 * the same rows as with good stats (it used to fail with a TypeError reading `usable[0]`).
 */
const fx = useEngine();

/** Rewrites `stats.<bound>.id` of every add in the table's JSON commits (only those of `only`, when given). */
function damageBound(dir: string, bad: string | number, only?: string, bound: 'minValues' | 'maxValues' = 'minValues'): void {
  const log = join(dir, '_delta_log');
  for (const name of readdirSync(log).filter((n) => n.endsWith('.json') && (only === undefined || n === only))) {
    const lines = readFileSync(join(log, name), 'utf8').split('\n').map((line) => {
      if (!line.includes('"add"')) return line;
      const action = JSON.parse(line);
      const stats = JSON.parse(action.add.stats);
      stats[bound].id = bad;
      action.add.stats = JSON.stringify(stats);
      return JSON.stringify(action);
    });
    writeFileSync(join(log, name), lines.join('\n'));
  }
}

describe('MERGE pruning: key bounds that do not type', () => {
  for (const [label, keySql, bad] of [
    ['integer key, min "abc"', 'range', 'abc'],
    ['date key, min "garbage"', "DATE '2020-01-01' + range::INTEGER", 'garbage'],
  ] as const) {
    it(`${label}: every file is read and the merge is right`, async () => {
      const dir = join(fx.dir, label.replace(/\W+/g, '-'));
      const t = await DeltaTable.forPath(dir, { compute: fx.compute });
      await t.write({ sql: `SELECT ${keySql} AS id, 'v' || range AS val FROM range(0, 50)` }).execute();
      await t.write({ sql: `SELECT ${keySql} AS id, 'v' || range AS val FROM range(100, 150)` }).execute();
      t.close();
      damageBound(dir, bad);

      const damaged = await DeltaTable.forPath(dir, { compute: fx.compute });
      try {
        const source = `SELECT ${keySql} AS id, 'n' || range AS val FROM range(120, 170) ORDER BY range`;
        const r = await damaged.merge({ sql: source }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
        expect(r.metrics.numTargetRowsUpdated).toBe(30);
        expect(r.metrics.numTargetRowsInserted).toBe(20);
        const rows = await damaged.read({});
        expect(rows).toHaveLength(120);
        expect(rows.filter((row) => String(row.val).startsWith('n'))).toHaveLength(50);
      } finally {
        damaged.close();
      }
    });
  }

  it('a file whose stats say min > max: a key of another file is still matched, not inserted twice', async () => {
    const dir = join(fx.dir, 'min-above-max');
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    for (const [lo, hi] of [[0, 8], [10, 15], [20, 30]]) {
      await t.write({ sql: `SELECT range AS id, 'v' || range AS val FROM range(${lo}, ${hi + 1})` }).execute();
    }
    t.close();
    // The middle file claims [10, 5]: max below min, and below keys of the first file.
    damageBound(dir, 5, '00000000000000000001.json', 'maxValues');

    const damaged = await DeltaTable.forPath(dir, { compute: fx.compute });
    try {
      const r = await damaged.merge({ sql: `SELECT 3::BIGINT AS id, 'new' AS val` }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
      expect(r.metrics.numTargetRowsUpdated).toBe(1);
      expect(r.metrics.numTargetRowsInserted).toBe(0);
      expect((await damaged.read({ where: 'id = 3' })).map((row) => [String(row.id), row.val])).toEqual([['3', 'new']]);
    } finally {
      damaged.close();
    }
  });
});
