import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaTable } from '../../src/engine/table.ts';
import {
  ConstraintViolationError,
  CorruptLogError,
  DamagedFileError,
  InputError,
  MissingFileError,
  NotATableError,
  ProtocolError,
  SchemaMismatchError,
} from '../../src/engine/errors.ts';
import { useEngine } from '../support/engine-fixture.ts';

const fx = useEngine();

let n = 0;
async function table(commits = 1) {
  const dir = join(fx.dir, `b${++n}`);
  const t = await DeltaTable.forPath(dir, { compute: fx.compute });
  for (let i = 0; i < commits; i++) await t.write({ sql: `SELECT ${i} AS k, 'v${i}' AS v` }).execute();
  return { t, dir, log: join(dir, '_delta_log') };
}

const commitFile = (log: string, v: number) => join(log, `${String(v).padStart(20, '0')}.json`);

/** Everything under the table directory, to prove a failed operation changed nothing. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

describe('bad input gives a typed error naming what and where, and leaves the table unchanged', () => {
  it('a path that is not a table', async () => {
    const dir = join(fx.dir, 'not-a-table');
    mkdirSync(dir);
    writeFileSync(join(dir, 'data.csv'), 'a\n1\n');
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    const err = await t.snapshot().catch((e) => e);
    expect(err).toBeInstanceOf(NotATableError);
    expect(err.message).toContain(dir);
    await expect(t.history()).rejects.toBeInstanceOf(NotATableError);
    expect(listing(dir)).toEqual(['data.csv']);
  });

  it('a corrupt JSON line in a commit names the version and line', async () => {
    const { t, log } = await table(2);
    appendFileSync(commitFile(log, 1), '{"add": {"path": broken\n');
    const err = await t.snapshot().catch((e) => e);
    expect(err).toBeInstanceOf(CorruptLogError);
    expect(err.message).toMatch(/commit 1 .*line \d+ is not valid JSON/);
    // The version before the damage is still readable.
    expect((await t.read({ version: 0 })).length).toBe(1);
    // And a write refuses to build on the damaged log.
    await expect(t.write({ sql: 'SELECT 9 AS k, \'x\' AS v' }).execute()).rejects.toBeInstanceOf(CorruptLogError);
    expect(readdirSync(log).filter((f) => f.endsWith('.json'))).toHaveLength(2);
  });

  it('a truncated checkpoint: replay falls back to the commits, and is a typed error when they are gone', async () => {
    const { t, log } = await table(11);
    const ckpt = join(log, '00000000000000000010.checkpoint.parquet');
    truncateSync(ckpt, 40);
    expect((await t.snapshot()).version).toBe(10);
    expect((await t.read()).length).toBe(11);
    for (let v = 0; v < 10; v++) unlinkSync(commitFile(log, v));
    // A reader opening the table now (a handle keeps the snapshot it already has).
    const reader = await DeltaTable.forPath(t.uri.replace(/^file:\/\//, ''), { compute: fx.compute });
    const err = await reader.snapshot().catch((e) => e);
    expect(err).toBeInstanceOf(CorruptLogError);
    expect(err.message).toContain('checkpoint at version 10');
    expect(err.message).toContain(t.uri);
  });

  it('a data file missing on disk names the file and version', async () => {
    const { t, dir } = await table(2);
    const snap = await t.snapshot();
    const victim = snap.files[0].path;
    unlinkSync(join(dir, decodeURIComponent(victim)));
    const err = await t.read().catch((e) => e);
    expect(err).toBeInstanceOf(MissingFileError);
    expect(err.message).toContain(victim);
    expect(err.message).toContain('version 1');
  });

  it('a damaged data file (truncated, or bytes overwritten inside a page) is named with its version; older versions still read', async () => {
    const { t, dir } = await table(3);
    const snap = await t.snapshot();
    const atZero = (await t.snapshot({ version: 0 })).files[0].path;
    // Damage the two files added after version 0, so version 0 still reads.
    const later = snap.files.filter((f) => f.path !== atZero);
    expect(later).toHaveLength(2);
    const [first, second] = later.map((f) => join(dir, decodeURIComponent(f.path)));
    // Overwritten inside the data: the footer is intact, so only decoding the values finds it.
    const bytes = readFileSync(second);
    bytes.fill(0xff, 4, Math.min(bytes.length - 200, 60));
    writeFileSync(second, bytes);
    const inPage = await t.read().catch((e) => e);
    expect(inPage).toBeInstanceOf(DamagedFileError);
    expect(inPage.message).toContain(later[1].path);
    expect(inPage.message).toContain('version 2');
    expect(inPage.message).toMatch(/Restore the file/);
    // Truncated: the check of its ends and footer names it without reading the values.
    truncateSync(first, 100);
    const cut = await t.read().catch((e) => e);
    expect(cut).toBeInstanceOf(DamagedFileError);
    expect(cut.message).toContain(later[0].path);
    expect(cut.message).toMatch(/truncated/);
    // The versions before the damaged files were added still read.
    const older = await t.read({ version: 0 });
    expect(older.map((r) => Number(r.k))).toEqual([0]);
  });

  it('an unknown reader feature is refused, naming the feature', async () => {
    const { t, log } = await table(1);
    const lines = readFileSync(commitFile(log, 0), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const l of lines) if (l.protocol) l.protocol = { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['futureFeatureX'], writerFeatures: ['futureFeatureX'] };
    writeFileSync(commitFile(log, 0), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const err = await t.snapshot().catch((e) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.feature).toBe('futureFeatureX');
    expect(err.message).toContain("'futureFeatureX'");
  });

  it('a batch whose schema does not match the table', async () => {
    const { t, dir } = await table(1);
    const before = listing(dir);
    const err = await t.write({ sql: `SELECT 'not a number' AS k, 'v' AS v` }).execute().catch((e) => e);
    expect(err).toBeInstanceOf(SchemaMismatchError);
    expect(err.message).toMatch(/column 'k' is string in the batch but integer in the table/);
    const extra = await t.write({ sql: `SELECT 1 AS k, 'v' AS v, 2 AS surprise` }).execute().catch((e) => e);
    expect(extra).toBeInstanceOf(SchemaMismatchError);
    expect(extra.message).toContain("'surprise'");
    expect(listing(dir)).toEqual(before);
    expect((await t.snapshot()).version).toBe(0);
  });

  it('nested columns: narrower values inside structs, arrays and maps are cast as top-level ones are; other shapes are refused, naming the place', async () => {
    const nested = `{'a': 1::BIGINT, 'b': 'x'} AS st, [1::BIGINT] AS li, MAP {'k': 1::BIGINT} AS mp`;
    const t = await DeltaTable.forPath(join(fx.dir, `nested${++n}`), { compute: fx.compute });
    await t.write({ sql: `SELECT 1::BIGINT AS id, ${nested}` }).execute();
    // An INTEGER inside (what a literal or a CSV column gives), the struct's fields in another order:
    // appended and merged, stored as the table's types.
    await t.write({ sql: `SELECT 2::BIGINT AS id, {'b': 'y', 'a': 2::INTEGER} AS st, [2::SMALLINT] AS li, MAP {'k': 2::INTEGER} AS mp` }).mode('append').execute();
    const merged = await t
      .merge({ sql: `SELECT 1::BIGINT AS id, {'a': 10, 'b': 'z'} AS st, [10] AS li, MAP {'k': 10} AS mp` }, { on: ['id'] })
      .whenMatchedUpdateAll()
      .execute();
    expect(merged.metrics.numTargetRowsUpdated).toBe(1);
    expect(await t.read({ orderBy: 'id' })).toEqual([
      { id: '1', st: { a: '10', b: 'z' }, li: ['10'], mp: [{ key: 'k', value: '10' }] },
      { id: '2', st: { a: '2', b: 'y' }, li: ['2'], mp: [{ key: 'k', value: '2' }] },
    ]);
    expect((await t.snapshot()).schema.fields.map((f) => JSON.stringify(f.type))).toEqual([
      '"long"',
      JSON.stringify({ type: 'struct', fields: [{ name: 'a', type: 'long', nullable: true, metadata: {} }, { name: 'b', type: 'string', nullable: true, metadata: {} }] }),
      JSON.stringify({ type: 'array', elementType: 'long', containsNull: true }),
      JSON.stringify({ type: 'map', keyType: 'string', valueType: 'long', valueContainsNull: true }),
    ]);
    // A field the table lacks, a missing one, a string where the table has numbers: refused, each named.
    const err = await t.write({ sql: `SELECT 3::BIGINT AS id, {'a': 1, 'c': 2} AS st, ['x'] AS li, MAP {'k': 'v'} AS mp` }).mode('append').execute().catch((e) => e);
    expect(err).toBeInstanceOf(SchemaMismatchError);
    expect(err.message).toContain("column 'st' is struct<a: integer, c: integer> in the batch but struct<a: long, b: string> in the table (field c is not in the table, field b is missing)");
    expect(err.message).toContain("column 'li' is array<string> in the batch but array<long> in the table (at li[]: string, the table has long)");
    expect(err.message).toContain("column 'mp' is map<string, string> in the batch but map<string, long> in the table (at mp.value: string, the table has long)");
    expect((await t.snapshot()).version).toBe(2);
    t.close();
  });

  it('a new table partitioned by a column the batch lacks: refused, saying what to do, nothing written', async () => {
    const dir = join(fx.dir, `b${++n}`);
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    const err = await t.write({ sql: `SELECT 1 AS id, 'a' AS name` }).partitionBy('region').execute().catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/partition column 'region' is not in the batch \(columns: id, name\)/);
    expect(err.message).toMatch(/Nothing was written to this table\. Add the column to the data, or leave it out of the partition columns/);
    expect(await t.tryLatest()).toBeUndefined();
  });

  it('a batch violating a CHECK constraint is refused with the constraint and a sample row', async () => {
    const dir = join(fx.dir, `b${++n}`);
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    await t.write({ sql: 'SELECT 1 AS k' }).properties({ 'delta.constraints.positive_k': 'k > 0' }).execute();
    expect((await t.snapshot()).protocol.minWriterVersion).toBe(3);
    const before = listing(dir);
    const err = await t.write({ sql: 'SELECT * FROM (VALUES (5), (-2)) v(k)' }).execute().catch((e) => e);
    expect(err).toBeInstanceOf(ConstraintViolationError);
    expect(err.message).toContain("'positive_k'");
    expect(err.message).toContain('-2');
    expect(listing(dir)).toEqual(before);
  });
});
