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

/** Rewrites every add's `stats.minValues.id` in the table's JSON commits. */
function damageMinValues(dir: string, bad: string): void {
  const log = join(dir, '_delta_log');
  for (const name of readdirSync(log).filter((n) => n.endsWith('.json'))) {
    const lines = readFileSync(join(log, name), 'utf8').split('\n').map((line) => {
      if (!line.includes('"add"')) return line;
      const action = JSON.parse(line);
      const stats = JSON.parse(action.add.stats);
      stats.minValues.id = bad;
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
      damageMinValues(dir, bad);

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
});
