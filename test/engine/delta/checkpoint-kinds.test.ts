import { describe, expect, it } from 'vitest';
import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { sqlString } from '../../../src/adapters/compute/sql.ts';
import { DeltaTable } from '../../../src/engine/table.ts';
import { dirOf } from '../../support/temp.ts';
import { useEngine } from '../../support/engine-fixture.ts';

const fx = useEngine();

const pad = (v: number) => String(v).padStart(20, '0');

describe('checkpoint kinds', () => {
  it('replays from a multi-part checkpoint (every part required) plus later commits', async () => {
    const t = await DeltaTable.forPath(join(fx.dir, 'multipart'), { compute: fx.compute });
    for (let i = 0; i < 12; i++) await t.write({ sql: `SELECT ${i} AS k` }).execute();
    const log = join(dirOf(t), '_delta_log');
    const classic = join(log, `${pad(10)}.checkpoint.parquet`);
    expect(existsSync(classic)).toBe(true);
    // Split our classic checkpoint into two parts, as Spark writes large ones.
    const part = (i: number) => join(log, `${pad(10)}.checkpoint.${String(i).padStart(10, '0')}.${String(2).padStart(10, '0')}.parquet`);
    await fx.compute.run(`COPY (SELECT * FROM read_parquet(${sqlString(classic)}) QUALIFY row_number() OVER () % 2 = 0) TO ${sqlString(part(1))} (FORMAT parquet)`);
    await fx.compute.run(`COPY (SELECT * FROM read_parquet(${sqlString(classic)}) QUALIFY row_number() OVER () % 2 = 1) TO ${sqlString(part(2))} (FORMAT parquet)`);
    unlinkSync(classic);
    for (let v = 0; v < 10; v++) unlinkSync(join(log, `${pad(v)}.json`));
    const snap = await (await DeltaTable.forPath(join(fx.dir, 'multipart'), { compute: fx.compute })).snapshot();
    expect(snap.version).toBe(11);
    expect((await t.read({ orderBy: 'k' })).map((r) => r.k)).toEqual([...Array(12).keys()]);
    // An incomplete multi-part set is not a checkpoint: with the commits gone, the table cannot be read.
    unlinkSync(part(2));
    // A reader opening the table now (a handle keeps the snapshot it already has).
    const reader = await DeltaTable.forPath(join(fx.dir, 'multipart'), { compute: fx.compute });
    await expect(reader.snapshot()).rejects.toThrow(/cannot be reconstructed|missing/);
    t.close();
  });
});
