import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaTable } from '../../../src/engine/table.ts';
import { ConstraintViolationError, InputError } from '../../../src/engine/errors.ts';
import { dirOf } from '../../support/temp.ts';
import { useEngine } from '../../support/engine-fixture.ts';

const fx = useEngine('lakelet-update-');

let n = 0;
const freshTable = () => DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute });

function commitInfo(table: DeltaTable, version: number): Record<string, any> {
  const text = readFileSync(join(dirOf(table), '_delta_log', `${String(version).padStart(20, '0')}.json`), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l)).find((a) => a.commitInfo)!.commitInfo;
}

async function twoFiles(t: DeltaTable, properties: Record<string, string> = {}) {
  await t.write({ sql: `SELECT range::BIGINT AS id, 'a' || range AS name, range * 10 AS amount, CASE WHEN range < 5 THEN 'eu' ELSE 'us' END AS region FROM range(10)` }).partitionBy('region').properties(properties).execute();
  await t.write({ sql: `SELECT (range + 10)::BIGINT AS id, 'b' || range AS name, range * 10 AS amount, 'eu' AS region FROM range(10)` }).execute();
}

describe('UPDATE', () => {
  it('sets columns from old values in matching rows, rewriting only files with matches', async () => {
    const t = await freshTable();
    await twoFiles(t);
    const before = (await t.snapshot()).files.map((f) => f.path);
    const res = await t.update({ amount: 'amount + id', name: "upper(name) || '/' || amount" }, 'id IN (2, 3)').execute();
    expect(res.metrics).toMatchObject({ numUpdatedRows: 2, numCopiedRows: 3, numRemovedFiles: 1, numAddedFiles: 1, numAddedChangeFiles: 0 });
    // Two of the three files are untouched.
    expect(before.filter((p) => res.snapshot.files.some((f) => f.path === p))).toHaveLength(2);
    const rows = await t.read({ where: 'id IN (1, 2, 3)', orderBy: 'id' });
    expect(rows).toEqual([
      { id: '1', name: 'a1', amount: '10', region: 'eu' },
      { id: '2', name: 'A2/20', amount: '22', region: 'eu' },
      { id: '3', name: 'A3/30', amount: '33', region: 'eu' },
    ]);
    const info = commitInfo(t, 2);
    expect(info.operation).toBe('UPDATE');
    expect(JSON.parse(info.operationParameters.predicate)).toEqual(['id IN (2, 3)']);
    expect(info.operationMetrics).toMatchObject({ numUpdatedRows: '2', numCopiedRows: '3', numAddedFiles: '1', numRemovedFiles: '1' });
    t.close();
  });

  it('updates every row without a predicate, can move rows between partitions, NULL predicate leaves rows alone', async () => {
    const t = await freshTable();
    await twoFiles(t);
    const moved = await t.update({ region: "'us'" }, "region = 'eu' AND id < 3").execute();
    expect(moved.metrics.numUpdatedRows).toBe(3);
    expect((await t.read({ where: "region = 'us'", columns: ['id', 'region'] })).length).toBe(8);
    const none = await t.update({ amount: '0' }, 'NULL').execute();
    expect(none.skipped).toMatch(/no rows matched/);
    const all = await t.update({ amount: '-1' }).execute();
    expect(all.metrics.numUpdatedRows).toBe(20);
    expect(all.metrics.numCopiedRows).toBe(0);
    expect(new Set((await t.read({ columns: ['amount'] })).map((r) => r.amount))).toEqual(new Set(['-1']));
    t.close();
  });

  it('a constraint violation fails the update and leaves the table unchanged', async () => {
    const t = await freshTable();
    await twoFiles(t, { 'delta.constraints.positive_amount': 'amount >= 0' });
    const version = (await t.snapshot()).version;
    const files = (await t.snapshot()).files.map((f) => f.path).sort();
    await expect(t.update({ amount: 'amount - 1000' }, 'id = 4').execute()).rejects.toThrow(ConstraintViolationError);
    await expect(t.update({ amount: 'amount - 1000' }, 'id = 4').execute()).rejects.toThrow(/positive_amount/);
    const after = await t.snapshot();
    expect(after.version).toBe(version);
    expect(after.files.map((f) => f.path).sort()).toEqual(files);
    expect((await t.read({ where: 'id = 4' }))[0].amount).toBe('40');
    t.close();
  });

  it('rejects unknown columns, empty assignments and bad expressions', async () => {
    const t = await freshTable();
    await twoFiles(t);
    await expect(t.update({ nope: '1' }).execute()).rejects.toThrow(/does not have/);
    await expect(t.update({}).execute()).rejects.toThrow(InputError);
    await expect(t.update({ amount: 'no_such_fn(amount)' }, 'id = 1').execute()).rejects.toThrow(InputError);
    expect((await t.history()).length).toBe(2);
    t.close();
  });
});
