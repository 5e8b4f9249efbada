import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sqlString } from '../../src/adapters/compute/sql.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import { InputError } from '../../src/engine/errors.ts';
import {
  accounts,
  generate,
  generateBatch,
  orders,
  ORDER_STATUSES,
  type GenerateOptions,
  type OutputFormat,
} from '../../src/dev/synthetic/index.ts';
import { affinePermutation, uniformSql } from '../../src/dev/synthetic/random.ts';
import { useEngine } from '../support/engine-fixture.ts';

const fx = useEngine('lakelet-synthetic-');

let n = 0;
const outDir = (name: string) => join(fx.dir, `${name}-${++n}`);

/** sha256 of every file in a folder, by name. */
function digests(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = createHash('sha256').update(readFileSync(join(dir, f))).digest('hex');
  return out;
}

function reader(path: string): string {
  if (path.endsWith('.csv')) return `read_csv(${sqlString(path)})`;
  if (path.endsWith('.ndjson')) return `read_json(${sqlString(path)}, format = 'newline_delimited')`;
  return `read_parquet(${sqlString(path)})`;
}

async function rows(path: string, extra = ''): Promise<Record<string, unknown>[]> {
  return fx.compute.query(`SELECT * FROM ${reader(path)} ${extra}`);
}

async function one<T = Record<string, unknown>>(sql: string): Promise<T> {
  return (await fx.compute.query<T>(sql))[0];
}

describe('synthetic data: determinism', () => {
  const options = (format: OutputFormat, out: string, seed = 7): GenerateOptions => ({
    dataset: accounts,
    rows: 20_000,
    initialFiles: 2,
    initialOrder: 'unsorted',
    batches: 2,
    batchRows: 5_000,
    updatesFraction: 0.4,
    deleteFraction: 0.1,
    skew: 0.8,
    hotFraction: 0.3,
    format,
    seed,
    out,
  });

  for (const format of ['csv', 'ndjson', 'parquet'] as const) {
    it(`the same seed gives byte-identical ${format} files; another seed different ones`, async () => {
      const a = outDir('det');
      const b = outDir('det');
      const c = outDir('det');
      await generate(fx.compute, options(format, a));
      await generate(fx.compute, options(format, b));
      await generate(fx.compute, options(format, c, 8));
      const da = digests(a);
      expect(Object.keys(da)).toEqual([`accounts-b0000-p00000.${format}`, `accounts-b0000-p00001.${format}`, `accounts-b0001.${format}`, `accounts-b0002.${format}`]);
      expect(digests(b)).toEqual(da);
      const dc = digests(c);
      expect(Object.keys(dc)).toEqual(Object.keys(da));
      for (const k of Object.keys(da)) expect(dc[k]).not.toBe(da[k]);
    });
  }

  it('orders are deterministic too, and a file split does not change the rows', async () => {
    const a = outDir('ord');
    const b = outDir('ord');
    const base = { dataset: orders, rows: 9_000, batches: 1, batchRows: 2_000, format: 'parquet' as const, seed: 3 };
    await generate(fx.compute, { ...base, out: a });
    await generate(fx.compute, { ...base, out: b, initialFiles: 4 });
    const whole = await one<{ h: string }>(`SELECT sum(hash(COLUMNS(*))) AS h FROM read_parquet(${sqlString(join(a, 'orders-b0000.parquet'))})`);
    const split = await one<{ h: string }>(`SELECT sum(hash(COLUMNS(*))) AS h FROM read_parquet(${sqlString(join(b, 'orders-b0000-p*.parquet'))})`);
    expect(split.h).toBe(whole.h);
    expect(digests(a)['orders-b0001.parquet']).toBe(digests(b)['orders-b0001.parquet']);
  });
});

describe('synthetic data: keys', () => {
  it('an initial load holds keys 1..rows once each, sorted by default; its files split it in order', async () => {
    const out = outDir('init');
    const r = await generate(fx.compute, { dataset: accounts, rows: 10_000, initialFiles: 3, batches: 0, out, format: 'csv' });
    expect(r.files.map((f) => f.rows)).toEqual([3333, 3333, 3334]);
    expect(r.keysIssued).toBe(10_000);
    const s = await one<{ n: string; d: string; lo: string; hi: string }>(
      `SELECT count(*) AS n, count(DISTINCT customer_id) AS d, min(customer_id) AS lo, max(customer_id) AS hi FROM read_csv(${sqlString(join(out, '*.csv'))})`,
    );
    expect(s).toEqual({ n: '10000', d: '10000', lo: '1', hi: '10000' });
    const first = await rows(r.files[0].path, 'LIMIT 3');
    expect(first.map((x) => x.customer_id)).toEqual(['1', '2', '3']);
    const second = await rows(r.files[1].path, 'LIMIT 1');
    expect(second[0].customer_id).toBe('3334');
    expect(Object.keys(first[0])).toEqual(['customer_id', 'account_number', 'credit_score', 'account_balance', 'last_modified']);
  });

  it('an incremental file has exactly the asked updates, deletes and new keys, all distinct', async () => {
    const out = outDir('inc');
    const r = await generate(fx.compute, {
      dataset: accounts,
      rows: 50_000,
      batches: 2,
      batchRows: 10_000,
      updatesFraction: 0.6,
      deleteFraction: 0.15,
      format: 'parquet',
      out,
    });
    expect(r.files.map((f) => [f.batch, f.inserts, f.updates, f.deletes])).toEqual([
      [0, 50_000, 0, 0],
      [1, 2_500, 6_000, 1_500],
      [2, 2_500, 6_000, 1_500],
    ]);
    expect(r.keysIssued).toBe(55_000);
    expect(r.columns.at(-1)).toBe('op');
    for (const [i, existing] of [[1, 50_000], [2, 52_500]] as const) {
      const path = r.files[i].path;
      const byOp = await fx.compute.query<{ op: string; n: string; lo: string; hi: string; d: string }>(
        `SELECT op, count(*) AS n, min(customer_id) AS lo, max(customer_id) AS hi, count(DISTINCT customer_id) AS d FROM read_parquet(${sqlString(path)}) GROUP BY op ORDER BY op`,
      );
      const m = Object.fromEntries(byOp.map((x) => [x.op, x]));
      expect(m.U.n).toBe('6000');
      expect(m.D.n).toBe('1500');
      expect(m.I.n).toBe('2500');
      expect(Number(m.U.hi)).toBeLessThanOrEqual(existing);
      expect(Number(m.D.hi)).toBeLessThanOrEqual(existing);
      expect([m.I.lo, m.I.hi]).toEqual([String(existing + 1), String(existing + 2_500)]);
      const distinct = await one<{ d: string }>(`SELECT count(DISTINCT customer_id) AS d FROM read_parquet(${sqlString(path)})`);
      expect(distinct.d).toBe('10000');
    }
    // Updates carry new values and a later last_modified than the initial load.
    const joined = await one<{ same: string; older: string }>(
      `SELECT count(*) FILTER (WHERE i.credit_score = u.credit_score AND i.account_balance = u.account_balance) AS same, ` +
        `count(*) FILTER (WHERE u.last_modified <= i.last_modified) AS older ` +
        `FROM read_parquet(${sqlString(r.files[0].path)}) i JOIN read_parquet(${sqlString(r.files[1].path)}) u USING (customer_id)`,
    );
    expect(Number(joined.same)).toBeLessThan(50);
    expect(joined.older).toBe('0');
    // account_number is fixed per customer.
    const acct = await one<{ n: string }>(
      `SELECT count(*) AS n FROM read_parquet(${sqlString(r.files[0].path)}) i JOIN read_parquet(${sqlString(r.files[1].path)}) u USING (customer_id) WHERE i.account_number <> u.account_number`,
    );
    expect(acct.n).toBe('0');
  });

  it('incremental files are unsorted by default and sorted on request', async () => {
    const unsorted = outDir('order');
    const sorted = outDir('order');
    const base = { dataset: accounts, rows: 5_000, batches: 1, batchRows: 2_000, format: 'csv' as const };
    const u = await generate(fx.compute, { ...base, out: unsorted });
    const s = await generate(fx.compute, { ...base, out: sorted, order: 'sorted' });
    const inversions = async (path: string) =>
      Number((await one<{ n: string }>(`SELECT count(*) FILTER (WHERE d < 0) AS n FROM (SELECT customer_id - lag(customer_id) OVER () AS d FROM read_csv(${sqlString(path)}))`)).n);
    expect(await inversions(u.files[1].path)).toBeGreaterThan(500);
    expect(await inversions(s.files[1].path)).toBe(0);
    // Same keys either way.
    const keys = (path: string) => `SELECT customer_id FROM read_csv(${sqlString(path)})`;
    const diff = await one<{ n: string }>(`SELECT count(*) AS n FROM ((${keys(u.files[1].path)}) EXCEPT (${keys(s.files[1].path)}))`);
    expect(diff.n).toBe('0');
  });

  it('a hot fraction keeps updates inside that share of the key space', async () => {
    const out = outDir('hot');
    const r = await generate(fx.compute, { dataset: accounts, rows: 100_000, batches: 1, batchRows: 5_000, updatesFraction: 1, hotFraction: 0.1, format: 'parquet', out });
    const blocks = await one<{ b: string }>(`SELECT count(DISTINCT (customer_id - 1) * 100 // 100000) AS b FROM read_parquet(${sqlString(r.files[1].path)})`);
    expect(Number(blocks.b)).toBe(10);
    await expect(
      generate(fx.compute, { dataset: accounts, rows: 10_000, batches: 1, batchRows: 5_000, updatesFraction: 1, hotFraction: 0.1, format: 'csv', out: outDir('hot') }),
    ).rejects.toThrow(/hot part of the key space/);
  });

  it('skew makes the same hot keys come back batch after batch', async () => {
    const overlap = async (skew: number) => {
      const out = outDir('skew');
      const r = await generate(fx.compute, { dataset: accounts, rows: 100_000, initial: false, batches: 2, batchRows: 2_000, updatesFraction: 1, skew, format: 'parquet', out });
      expect(r.files.map((f) => f.batch)).toEqual([1, 2]);
      const o = await one<{ n: string }>(
        `SELECT count(*) AS n FROM read_parquet(${sqlString(r.files[0].path)}) a JOIN read_parquet(${sqlString(r.files[1].path)}) b USING (customer_id)`,
      );
      return Number(o.n);
    };
    const uniform = await overlap(0);
    const skewed = await overlap(1.2);
    expect(uniform).toBeLessThan(200); // ~2000·2000/100000 = 40 expected
    expect(skewed).toBeGreaterThan(10 * Math.max(uniform, 40));
  });

  it('refuses impossible plans before writing anything', async () => {
    const out = outDir('bad');
    await expect(generate(fx.compute, { dataset: accounts, rows: 10, batches: 1, batchRows: 100, updatesFraction: 0.5, format: 'csv', out })).rejects.toThrow(InputError);
    await expect(generate(fx.compute, { dataset: accounts, rows: 10, updatesFraction: 0.7, deleteFraction: 0.5, batches: 1, format: 'csv', out })).rejects.toThrow(/exceed 1/);
    await expect(generate(fx.compute, { dataset: accounts, rows: -1, format: 'csv', out })).rejects.toThrow(/rows/);
    expect(() => readdirSync(out)).toThrow();
  });

  it('random streams with different salts are independent and uniform', async () => {
    const a = uniformSql(42, 'a', 'i', '3');
    const b = uniformSql(42, 'b', 'i', '3');
    const s = await one<{ r: number; m: number; both: string; decile: string }>(
      `SELECT corr(a, b) AS r, avg(a) AS m, count(*) FILTER (WHERE a < 0.05 AND b < 0.05) AS both, count(*) FILTER (WHERE floor(a * 10) = 7) AS decile ` +
        `FROM (SELECT ${a} AS a, ${b} AS b FROM range(200000) t(i))`,
    );
    expect(Math.abs(s.r)).toBeLessThan(0.01);
    expect(Math.abs(s.m - 0.5)).toBeLessThan(0.005);
    expect(Number(s.both)).toBeGreaterThan(400); // 200000 · 0.05² = 500
    expect(Number(s.both)).toBeLessThan(600);
    expect(Math.abs(Number(s.decile) - 20000)).toBeLessThan(600);
  });

  it('the affine permutation visits every position once', () => {
    for (const size of [1, 2, 10, 97, 1000, 4096]) {
      const p = affinePermutation(size, 5, 'x');
      const seen = new Set<number>();
      for (let i = 0; i < size; i++) seen.add((p.a * i + p.c) % size);
      expect(seen.size).toBe(size);
    }
  });

  it('generateBatch writes one batch to the given paths', async () => {
    const files = await generateBatch(
      fx.compute,
      accounts,
      { seed: 1, batch: 3, rows: 1_000, existing: 10_000, firstNewId: 20_001, updates: 300, deletes: 0, skew: 0, hotFraction: 1, hotBlocks: 100, order: 'sorted' },
      { format: 'csv', paths: [join(fx.dir, `gb-${n}-a.csv`), join(fx.dir, `gb-${n}-b.csv`)] },
    );
    expect(files.map((f) => f.rows)).toEqual([500, 500]);
    const s = await one<{ hi: string; upd: string; gap: string }>(
      `SELECT max(customer_id) AS hi, count(*) FILTER (WHERE customer_id <= 10000) AS upd, ` +
        `count(*) FILTER (WHERE customer_id BETWEEN 10001 AND 20000) AS gap FROM read_csv([${files.map((f) => sqlString(f.path)).join(', ')}])`,
    );
    expect(s).toEqual({ hi: '20700', upd: '300', gap: '0' });
  });
});

describe('synthetic data: orders (seed 002)', () => {
  it('statuses move on, delivered_at is set exactly for delivered parcels, and times are consistent', async () => {
    const out = outDir('orders');
    const r = await generate(fx.compute, { dataset: orders, rows: 20_000, batches: 3, batchRows: 4_000, updatesFraction: 0.75, format: 'ndjson', out });
    const all = `read_json(${sqlString(join(out, '*.ndjson'))}, format = 'newline_delimited', filename = true)`;
    const statuses = (await fx.compute.query<{ status: string }>(`SELECT DISTINCT status FROM ${all} ORDER BY 1`)).map((x) => x.status);
    for (const s of statuses) expect([...ORDER_STATUSES, 'EXCEPTION', 'RETURNED']).toContain(s);
    expect(statuses).toContain('DELIVERED');
    expect(statuses).toContain('EXCEPTION');
    const bad = await one<Record<string, string>>(
      `SELECT count(*) FILTER (WHERE (status = 'DELIVERED') <> (delivered_at IS NOT NULL)) AS delivered, ` +
        `count(*) FILTER (WHERE delivered_at < shipped_at) AS early, ` +
        `count(*) FILTER (WHERE updated_at < shipped_at) AS modified, ` +
        `count(*) FILTER (WHERE NOT regexp_full_match(tracking_num, 'TRK[0-9]{12}')) AS tracking, ` +
        `count(*) FILTER (WHERE origin = destination) AS route FROM ${all}`,
    );
    expect(bad).toEqual({ delivered: '0', early: '0', modified: '0', tracking: '0', route: '0' });
    // Later batches: more delivered among re-sent parcels than in the initial load.
    const delivered = await fx.compute.query<{ f: string; share: number }>(
      `SELECT regexp_extract(parse_filename(filename), 'b(\\d+)', 1) AS f, avg(CASE WHEN status = 'DELIVERED' THEN 1 ELSE 0 END) AS share FROM ${all} GROUP BY 1 ORDER BY 1`,
    );
    expect(delivered[3].share).toBeGreaterThan(delivered[0].share);
    // Parcels of one order share the order's customer and amount.
    const orderRows = await one<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT order_id FROM read_json(${sqlString(r.files[0].path)}, format = 'newline_delimited') GROUP BY order_id HAVING count(DISTINCT customer_id) > 1 OR count(DISTINCT amount) > 1)`,
    );
    expect(orderRows.n).toBe('0');
  });
});

describe('synthetic data feeds the engine', () => {
  it('an initial CSV written, then an incremental file merged with deletes, leaves keys issued minus deleted', async () => {
    const out = outDir('e2e');
    // One incremental file: a later one may re-send a key an earlier one deleted (the generator keeps no state).
    const r = await generate(fx.compute, { dataset: accounts, rows: 5_000, batches: 1, batchRows: 1_000, deleteFraction: 0.1, updatesFraction: 0.5, format: 'csv', out });
    const table = await DeltaTable.forPath(join(fx.dir, `table-${n}`), { compute: fx.compute });
    await table.write({ file: r.files[0].path }).execute();
    let deleted = 0;
    for (const f of r.files.slice(1)) {
      const res = await table
        .merge({ file: f.path }, { on: ['customer_id'] })
        .whenMatchedDelete("s.op = 'D'")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll("s.op <> 'D'")
        .execute();
      expect(res.metrics.numTargetRowsDeleted).toBe(f.deletes);
      expect(res.metrics.numTargetRowsUpdated).toBe(f.updates);
      expect(res.metrics.numTargetRowsInserted).toBe(f.inserts);
      deleted += f.deletes;
    }
    const count = await table.read({ columns: ['customer_id'] });
    expect(count.length).toBe(r.keysIssued - deleted);
  });
});
