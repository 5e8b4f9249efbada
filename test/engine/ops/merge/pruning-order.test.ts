import { describe, expect, it } from 'vitest';
import type { StructField } from '../../../../src/engine/delta/schema.ts';
import { orderBoundsInDuckDb, orderIntegerBounds, orderStringBounds, typedBoundsSql, type OrderedBound } from '../../../../src/engine/ops/merge/pruning.ts';
import { useEngine } from '../../../support/engine-fixture.ts';

/**
 * MERGE pruning orders the files' integer key bounds in JavaScript instead of asking DuckDB: the
 * result must be exactly DuckDB's (typed as TRY_CAST types them, sorted, overlap flags), or files
 * would be pruned differently.
 */
const fx = useEngine();

type Bound = { i: number; lo: string | null; hi: string | null };

/** Both sides keyed by file: DuckDB's order among equal lower bounds is its own. */
function byFile(rows: OrderedBound[]): Record<number, OrderedBound> {
  return Object.fromEntries(rows.map((r) => [r.i, r]));
}

async function expectSameAsDuckDb(type: string, bounds: Bound[]): Promise<OrderedBound[]> {
  const field: StructField = { name: 'k', type, nullable: true, metadata: {} };
  const js = orderIntegerBounds(type, bounds);
  expect(js).toBeDefined();
  const duck = await orderBoundsInDuckDb(fx.compute, typedBoundsSql(field, bounds));
  expect(byFile(js!)).toEqual(byFile(duck));
  // The usable bounds come sorted by lower bound, as the binary search over them needs.
  const usable = js!.filter((r) => r.lo !== null && r.hi !== null).map((r) => BigInt(r.lo!));
  expect(usable).toEqual([...usable].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  return js!;
}

describe('MERGE pruning: integer bounds ordered in JavaScript', () => {
  it('disjoint, overlapping, nested and unordered ranges: the same order and overlap flags as DuckDB', async () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (const type of ['byte', 'short', 'integer', 'long']) {
      for (let round = 0; round < 5; round++) {
        const span = type === 'byte' ? 100 : 100_000;
        const bounds: Bound[] = [];
        const los = new Set<number>();
        for (let i = 0; i < 12; i++) {
          let lo = rand(span) - span / 2;
          while (los.has(lo)) lo++;
          los.add(lo);
          bounds.push({ i, lo: String(lo), hi: String(lo + rand(round % 2 ? span / 4 : 20)) });
        }
        await expectSameAsDuckDb(type, bounds.reverse());
      }
    }
  });

  it('a bound outside the type comes back NULL, so its file is never pruned; the others keep their order', async () => {
    const rows = await expectSameAsDuckDb('integer', [
      { i: 0, lo: '10', hi: '20' },
      { i: 1, lo: '2147483648', hi: '2147483650' },
      { i: 2, lo: '-5', hi: '9' },
      { i: 3, lo: '30', hi: '99999999999' },
    ]);
    expect(rows.filter((r) => r.lo === null || r.hi === null).map((r) => r.i).sort()).toEqual([1, 3]);
    expect(rows.filter((r) => r.lo !== null && r.hi !== null).map((r) => [r.i, r.overlaps])).toEqual([
      [2, null],
      [0, false],
    ]);
    await expectSameAsDuckDb('byte', [
      { i: 0, lo: '-128', hi: '127' },
      { i: 1, lo: '-129', hi: '0' },
      { i: 2, lo: '5', hi: '6' },
    ]);
    await expectSameAsDuckDb('long', [
      { i: 0, lo: '-9223372036854775808', hi: '-1' },
      { i: 1, lo: '0', hi: '9223372036854775807' },
      { i: 2, lo: '9223372036854775807', hi: '9223372036854775808' },
    ]);
  });

  it('leaves other types and bounds it cannot read exactly to DuckDB', () => {
    expect(orderIntegerBounds('string', [{ i: 0, lo: '1', hi: '2' }])).toBeUndefined();
    expect(orderIntegerBounds('double', [{ i: 0, lo: '1', hi: '2' }])).toBeUndefined();
    expect(orderIntegerBounds('long', [{ i: 0, lo: '1e+21', hi: '2' }])).toBeUndefined();
    expect(orderIntegerBounds('long', [{ i: 0, lo: '1.5', hi: '2' }])).toBeUndefined();
  });
});

describe('MERGE pruning: string bounds ordered in JavaScript', () => {
  it('ASCII, accented, CJK and astral text, prefixes, overlaps and min above max: the same order and overlap flags as DuckDB', async () => {
    const field: StructField = { name: 'k', type: 'string', nullable: true, metadata: {} };
    const words = ['TRK000000000001', 'TRK000000230000', 'TRK0000001', 'Zebra', 'apple', 'app', 'éclair', 'ecl', '東京', 'z', '\u{1F600}smile', '\uFFFDx', '', 'Ä'];
    let seed = 11;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let round = 0; round < 8; round++) {
      const bounds: Bound[] = [];
      for (let i = 0; i < 10; i++) bounds.push({ i, lo: words[rand(words.length)], hi: words[rand(words.length)] });
      const js = orderStringBounds('string', bounds);
      expect(js).toBeDefined();
      const duck = await orderBoundsInDuckDb(fx.compute, typedBoundsSql(field, bounds));
      // Equal lower bounds may come in either order: compare each file's bounds, and the overlap
      // flags of files whose lower bound is unique.
      const los = bounds.map((b) => b.lo);
      const strip = (r: OrderedBound) => (los.filter((l) => l === r.lo).length > 1 ? { ...r, overlaps: 'tie' } : r);
      expect(byFile(js!.map(strip) as OrderedBound[])).toEqual(byFile(duck.map(strip) as OrderedBound[]));
      // The usable bounds come in DuckDB's order (by lower bound, bytewise), as the binary search needs.
      const usable = (rows: OrderedBound[]) => rows.filter((r) => r.lo !== null && r.hi !== null).map((r) => r.lo);
      expect(usable(js!)).toEqual(usable(duck));
    }
  });

  it('leaves other types and text that is not well-formed to DuckDB', () => {
    expect(orderStringBounds('long', [{ i: 0, lo: '1', hi: '2' }])).toBeUndefined();
    expect(orderStringBounds('string', [{ i: 0, lo: 'a\uD800', hi: 'b' }])).toBeUndefined();
  });
});
