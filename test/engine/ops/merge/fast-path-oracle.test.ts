import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DeltaTable } from '../../../../src/engine/table.ts';
import { MergeDuplicateKeyError } from '../../../../src/engine/ops/merge.ts';
import { canonicalRows } from '../../../support/golden.ts';
import { RecordingCompute } from '../../../support/recording-compute.ts';
import { rng } from '../../../support/rng.ts';
import { useEngine } from '../../../support/engine-fixture.ts';

/**
 * Randomised differential test of the MERGE's cheaper paths against DuckDB's MERGE INTO. oracle.test.ts
 * merges SQL sources over random keys, which never take them; here every source is a Parquet file
 * in the table's own layout, mostly the sorted keys of whole target files — the shape that pairs
 * by position (aligned.ts), takes the batch file as it is (a plain upsert) or fetches the written
 * rows late (a star merge with conditions) — then perturbed the ways a real batch differs: a key
 * missing, one replaced, one moved into a hole of its file's range (as many keys, still sorted: it
 * looks aligned, and only the pairing itself can tell), one repeated, a NULL key, keys above or
 * between the files, shuffled.
 * With and without deletion vectors, some files already carrying one.
 */
const CASES = Number(process.env.LAKELET_FAST_PATH_CASES ?? 120);
const fx = useEngine('lakelet-fast-oracle-');

const SHAPES = ['aligned', 'aligned', 'aligned', 'hole', 'hole', 'missing', 'extra-above', 'extra-gap', 'dup', 'shuffled', 'null', 'replace'] as const;
type Kind = 'upsert' | 'update-only' | 'if-newer' | 'delete-op' | 'insert-only';
const KINDS: Kind[] = ['upsert', 'upsert', 'update-only', 'if-newer', 'delete-op', 'insert-only'];
const SET_ALL = 'UPDATE SET id = s.id, val = s.val, n = s.n, ts = s.ts';
const INSERT_ALL = 'INSERT (id, val, n, ts) VALUES (s.id, s.val, s.n, s.ts)';
/** DuckDB's MERGE INTO clauses for each kind (the builder's are set in `clauses` below). */
const ORACLE: Record<Kind, string> = {
  upsert: `WHEN MATCHED THEN ${SET_ALL} WHEN NOT MATCHED THEN ${INSERT_ALL}`,
  'update-only': `WHEN MATCHED THEN ${SET_ALL}`,
  'if-newer': `WHEN MATCHED AND s.ts > t.ts THEN ${SET_ALL} WHEN NOT MATCHED THEN ${INSERT_ALL}`,
  'delete-op': `WHEN MATCHED AND s.op = 'D' THEN DELETE WHEN MATCHED THEN ${SET_ALL} WHEN NOT MATCHED AND s.op <> 'D' THEN ${INSERT_ALL}`,
  'insert-only': `WHEN NOT MATCHED THEN ${INSERT_ALL}`,
};

function clauses(b: ReturnType<DeltaTable['merge']>, kind: Kind) {
  switch (kind) {
    case 'upsert':
      return b.whenMatchedUpdateAll().whenNotMatchedInsertAll();
    case 'update-only':
      return b.whenMatchedUpdateAll();
    case 'if-newer':
      return b.whenMatchedUpdateAll('s.ts > t.ts').whenNotMatchedInsertAll();
    case 'delete-op':
      return b.whenMatchedDelete("s.op = 'D'").whenMatchedUpdateAll().whenNotMatchedInsertAll("s.op <> 'D'");
    case 'insert-only':
      return b.whenNotMatchedInsertAll();
  }
}

const rowSql = (id: number | null, val: string, n: number | null, ts: number, op?: string) =>
  `(${id ?? 'NULL'}, '${val}', ${n ?? 'NULL'}, ${ts}${op === undefined ? '' : `, '${op}'`})`;
/** Rows as the table's types: id BIGINT, val VARCHAR, n INTEGER, ts TIMESTAMPTZ (+ op VARCHAR). */
function rowsSql(rows: string[], withOp = false): string {
  const cols = `CAST(id AS BIGINT) AS id, CAST(val AS VARCHAR) AS val, CAST(n AS INTEGER) AS n, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(ts) AS ts${withOp ? ', CAST(op AS VARCHAR) AS op' : ''}`;
  return `SELECT ${cols} FROM (VALUES ${rows.join(', ')}) v(id, val, n, ts${withOp ? ', op' : ''})`;
}

describe(`MERGE fast paths agree with DuckDB MERGE INTO (${CASES} seeds)`, () => {
  it('every case gives the same rows, or the duplicate-key error Delta requires', async () => {
    const rec = new RecordingCompute(fx.compute);
    let compared = 0;
    let ambiguous = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      const r = rng(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
      const dv = r() < 0.5;
      // The target: 1-5 files, each one sorted run of keys, with gaps between them.
      const files: number[][] = [];
      let next = Math.floor(r() * 5);
      for (let f = 0, count = 1 + Math.floor(r() * 5); f < count; f++) {
        // Some keys skip one: a hole inside a file's range, where a source key pairs with no target row.
        files.push(Array.from({ length: 1 + Math.floor(r() * 30) }, () => (next += r() < 0.2 ? 2 : 1)));
        next += Math.floor(r() * 4);
      }
      const t = await DeltaTable.forPath(join(fx.dir, `t${seed}`), { compute: rec });
      for (const [f, keys] of files.entries()) {
        const rows = keys.map((id) => rowSql(id, pick(['a', 'b']), Math.floor(r() * 100), Math.floor(r() * 1000)));
        const w = t.write({ sql: `${rowsSql(rows)} ORDER BY id` });
        if (f === 0 && dv) w.properties({ 'delta.enableDeletionVectors': 'true' });
        await w.execute();
      }
      const preDeleted = dv && r() < 0.3;
      if (preDeleted) await t.delete('id % 7 = 3').execute();

      // The source: the keys of some whole files, then one perturbation.
      const shape = pick(SHAPES);
      let keys: (number | null)[] = files.filter(() => r() < 0.6).flat();
      const at = () => Math.floor(r() * keys.length);
      if (shape === 'missing' && keys.length > 1) keys.splice(at(), 1);
      if (shape === 'extra-above') keys.push(next + 10, next + 11);
      if (shape === 'extra-gap') keys.push(-1);
      if (shape === 'dup' && keys.length > 0) keys.splice(at(), 0, keys[at()]);
      if (shape === 'null' && keys.length > 0) keys[at()] = null;
      if (shape === 'replace' && keys.length > 0) keys[at()] = next + 50;
      if (shape === 'hole') {
        // A key moved into a hole of its own file: as many keys, still increasing, all within the
        // files' ranges, so the source looks aligned; the pairing itself must notice the mismatch.
        const holes = keys.flatMap((k, i) => (k !== null && i + 1 < keys.length && keys[i + 1] === k + 2 ? [i] : []));
        if (holes.length > 0) {
          const i = holes[Math.floor(r() * holes.length)];
          keys[i] = keys[i]! + 1;
        }
      }
      if (shape === 'shuffled') keys.sort(() => r() - 0.5);
      else keys = [...keys.filter((k) => k !== null).sort((a, b) => a! - b!), ...keys.filter((k) => k === null)];
      const kind = pick(KINDS);
      const withOp = kind === 'delete-op';
      const source = join(fx.dir, `s${seed}.parquet`);
      const sourceRows = keys.map((id) => rowSql(id, pick(['x', 'y', 'a']), r() < 0.1 ? null : Math.floor(r() * 100), Math.floor(r() * 1000), withOp ? pick(['U', 'D', 'I']) : undefined));
      const sourceSql = sourceRows.length > 0 ? rowsSql(sourceRows, withOp) : `SELECT * FROM (${rowsSql([rowSql(0, '', 0, 0, withOp ? 'U' : undefined)], withOp)}) WHERE false`;
      // Compressed as the table's own files are: the shape a plain upsert takes as it is.
      await fx.compute.run(`COPY (${sourceSql}) TO '${source}' (FORMAT parquet, COMPRESSION zstd)`);
      const label = `seed ${seed}: dv=${dv} preDeleted=${preDeleted} shape=${shape} kind=${kind} files=${files.length} source=${keys.length}`;

      const current = await t.read();
      const repeats = new Map<number, number>();
      for (const k of keys) if (k !== null) repeats.set(k, (repeats.get(k) ?? 0) + 1);
      const merge = clauses(t.merge({ file: source }, { on: ['id'] }), kind);
      if (kind !== 'insert-only' && current.some((row) => (repeats.get(Number(row.id)) ?? 0) > 1)) {
        await expect(merge.execute(), label).rejects.toBeInstanceOf(MergeDuplicateKeyError);
        ambiguous++;
      } else {
        // The oracle: the same rows in a native table, merged by DuckDB.
        await fx.compute.run('CREATE OR REPLACE TEMP TABLE oracle (id BIGINT, val VARCHAR, n INTEGER, ts TIMESTAMPTZ)');
        const tuples = current.map((row) => `(${row.id}, '${row.val}', ${row.n ?? 'NULL'}, TIMESTAMPTZ '${row.ts}')`);
        if (tuples.length > 0) await fx.compute.run(`INSERT INTO oracle VALUES ${tuples.join(', ')}`);
        await fx.compute.run(`MERGE INTO oracle t USING read_parquet('${source}') s ON t.id = s.id ${ORACLE[kind]}`);
        const expected = await fx.compute.query('SELECT * FROM oracle');
        await merge.execute();
        expect(canonicalRows(await t.read()), label).toEqual(canonicalRows(expected));
        compared++;
      }
      t.close();
    }
    // The cases must take the paths this test is about, and the Delta error must come up.
    const count = (re: RegExp) => rec.statements.filter((s) => re.test(s)).length;
    expect(count(/POSITIONAL JOIN/), 'pairings by position').toBeGreaterThan(CASES / 10);
    expect(count(/parquet_metadata/), 'batch files taken as they are').toBeGreaterThan(CASES / 10);
    expect(count(/__lakelet_srow = j\.__srow/), 'rows fetched late').toBeGreaterThan(CASES / 10);
    expect(compared).toBeGreaterThan(CASES / 2);
    expect(ambiguous).toBeGreaterThan(0);
  }, 300_000);
});
