/**
 * The contract every ObjectStore must meet (local disk today, GCS next). Register it from a test
 * file with a factory that returns a fresh, empty store and a cleanup:
 *
 *   objectStoreContract('LocalObjectStore', async () => { ... return { store, cleanup }; });
 *
 * Semantics pinned here, beyond the interface comments:
 * - keys are plain strings: spaces, '%', '=', '+', non-ASCII are stored and listed as given;
 * - `list(prefix)` is recursive, matches prefixes that end in the middle of a name, and sorts by
 *   the UTF-8 bytes of the key (not UTF-16 order, not locale order);
 * - `getRange` past the end returns the bytes that exist (empty when start >= size);
 * - `get`/`getRange`/`copy` of a missing key reject with ObjectNotFoundError; `head` gives
 *   undefined; `delete` of a missing key is a no-op;
 * - `putIfAbsent` under contention lets exactly one caller win, and the winner's bytes stay.
 */
import { mkdtemp, rm, writeFile, access, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ObjectNotFoundError, type ObjectStore } from '../../src/adapters/storage/object-store.ts';

export interface ContractFixture {
  store: ObjectStore;
  cleanup(): Promise<void>;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

async function expectNotFound(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the call to reject').toBeDefined();
  expect(err).toBeInstanceOf(ObjectNotFoundError);
  expect((err as ObjectNotFoundError).code).toBe('OBJECT_NOT_FOUND');
}

export function objectStoreContract(name: string, makeStore: () => Promise<ContractFixture>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let fixture: ContractFixture;
    let store: ObjectStore;

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture?.cleanup();
    });

    describe('round trips', () => {
      it('stores and returns every byte value', async () => {
        const bytes = new Uint8Array(512);
        for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
        await store.put('bin/all-bytes.bin', bytes);
        const back = await store.get('bin/all-bytes.bin');
        expect(back).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true);
      });

      it('stores strings as UTF-8', async () => {
        const s = '{"a":"héllo wörld ✓ 😀"}\n{"b":1}\n';
        await store.put('_delta_log/00000000000000000000.json', s);
        const back = await store.get('_delta_log/00000000000000000000.json');
        expect(text.decode(back)).toBe(s);
        expect(back.byteLength).toBe(utf8.encode(s).byteLength);
      });

      it('stores empty objects', async () => {
        await store.put('empty', new Uint8Array(0));
        expect((await store.get('empty')).byteLength).toBe(0);
        expect((await store.head('empty'))?.size).toBe(0);
      });

      it('put replaces existing content', async () => {
        await store.put('a/b.txt', 'first version, longer');
        await store.put('a/b.txt', 'second');
        expect(text.decode(await store.get('a/b.txt'))).toBe('second');
        expect((await store.head('a/b.txt'))?.size).toBe(6);
      });

      it('has a non-empty uri', () => {
        expect(typeof store.uri).toBe('string');
        expect(store.uri.length).toBeGreaterThan(0);
      });
    });

    describe('missing keys', () => {
      it('get rejects with ObjectNotFoundError', async () => {
        await expectNotFound(store.get('nope.json'));
        await expectNotFound(store.get('no/such/dir/file.json'));
      });

      it('getRange rejects with ObjectNotFoundError', async () => {
        await expectNotFound(store.getRange('nope.bin', 0, 10));
      });

      it('a "directory" is not an object', async () => {
        await store.put('dir/child.txt', 'x');
        await expectNotFound(store.get('dir'));
        expect(await store.head('dir')).toBeUndefined();
      });

      it('head gives undefined', async () => {
        expect(await store.head('nope.json')).toBeUndefined();
        expect(await store.head('no/such/dir/file.json')).toBeUndefined();
      });

      it('delete is a no-op', async () => {
        await store.delete('nope.json');
        await store.delete('no/such/dir/file.json');
      });

      it('copy from a missing key rejects with ObjectNotFoundError', async () => {
        await expectNotFound(store.copy('nope.json', 'dest.json'));
        expect(await store.head('dest.json')).toBeUndefined();
      });

      it('list of an unknown prefix is empty', async () => {
        expect(await store.list('')).toEqual([]);
        expect(await store.list('_delta_log/')).toEqual([]);
        expect(await store.list('no/such/dir/')).toEqual([]);
        expect(await store.list('no/such/dir/partial')).toEqual([]);
      });
    });

    describe('head', () => {
      it('reports size in bytes and a plausible modification time', async () => {
        const before = Date.now();
        await store.put('sizes/ascii.txt', 'hello');
        await store.put('sizes/multibyte.txt', 'é😀'); // 2 + 4 bytes
        await store.put('sizes/bytes.bin', new Uint8Array(1000));
        const ascii = await store.head('sizes/ascii.txt');
        expect(ascii?.key).toBe('sizes/ascii.txt');
        expect(ascii?.size).toBe(5);
        expect((await store.head('sizes/multibyte.txt'))?.size).toBe(6);
        expect((await store.head('sizes/bytes.bin'))?.size).toBe(1000);
        // Allow for coarse timestamps and clock skew against a remote store.
        expect(ascii!.lastModified).toBeGreaterThan(before - 10 * 60_000);
        expect(ascii!.lastModified).toBeLessThan(Date.now() + 10 * 60_000);
      });
    });

    describe('list', () => {
      it('is recursive and sorted by UTF-8 bytes', async () => {
        // UTF-16 order and byte order disagree on these; so do locale order and byte order.
        const keys = [
          'a/b',
          'a-c',
          'a0',
          'a.b',
          'B',
          'ab',
          'z/y/x/w',
          'emoji/😀',
          'emoji/\uFF61',
          'emoji/é',
          'emoji/e',
          'emoji/E',
        ];
        for (const k of keys) await store.put(k, k);
        const listed = await store.list('');
        const expected = [...keys].sort(byteOrder);
        expect(listed.map((m) => m.key)).toEqual(expected);
        // Spot-check the cases that distinguish byte order from the alternatives.
        const order = listed.map((m) => m.key);
        expect(order.indexOf('B')).toBeLessThan(order.indexOf('a-c'));
        expect(order.indexOf('a-c')).toBeLessThan(order.indexOf('a.b'));
        expect(order.indexOf('a.b')).toBeLessThan(order.indexOf('a/b'));
        expect(order.indexOf('a/b')).toBeLessThan(order.indexOf('a0'));
        expect(order.indexOf('emoji/\uFF61')).toBeLessThan(order.indexOf('emoji/😀'));
        for (const m of listed) expect(m.size).toBe(utf8.encode(m.key).byteLength);
      });

      it('matches prefixes that end in the middle of a name', async () => {
        const versions = [0, 1, 2, 9, 10, 11, 19, 20, 100];
        const pad = (v: number) => String(v).padStart(20, '0');
        for (const v of versions) await store.put(`_delta_log/${pad(v)}.json`, `{"v":${v}}`);
        await store.put(`_delta_log/${pad(10)}.checkpoint.parquet`, 'cp');
        await store.put('_delta_log/_last_checkpoint', '{"version":10}');
        await store.put('_delta_log/_sidecars/abc.parquet', 'sc');
        await store.put('part-0.parquet', 'data');

        const keysOf = async (p: string) => (await store.list(p)).map((m) => m.key);

        // 19 zeros then "1": versions 10..19
        expect(await keysOf('_delta_log/0000000000000000001')).toEqual([
          `_delta_log/${pad(10)}.checkpoint.parquet`,
          `_delta_log/${pad(10)}.json`,
          `_delta_log/${pad(11)}.json`,
          `_delta_log/${pad(19)}.json`,
        ]);
        // the full 20-digit name of version 1 matches only version 1
        expect(await keysOf(`_delta_log/${pad(1)}`)).toEqual([`_delta_log/${pad(1)}.json`]);
        expect(await keysOf(`_delta_log/${pad(1)}.json`)).toEqual([`_delta_log/${pad(1)}.json`]);
        // a prefix ending mid-name descends into matching directories too
        expect(await keysOf('_delta_log/_')).toEqual(['_delta_log/_last_checkpoint', '_delta_log/_sidecars/abc.parquet']);
        expect(await keysOf('_delta_log/_s')).toEqual(['_delta_log/_sidecars/abc.parquet']);
        // without the slash, the directory name is just a prefix of the keys under it
        expect(await keysOf('_delta')).toHaveLength(versions.length + 3);
        expect(await keysOf('_delta_log/')).toHaveLength(versions.length + 3);
        expect(await keysOf('')).toHaveLength(versions.length + 4);
        expect(await keysOf('part-')).toEqual(['part-0.parquet']);
        expect(await keysOf('_delta_log/9')).toEqual([]);
      });

      it('lists a key range: startAt inclusive, endBefore exclusive, in byte order', async () => {
        const pad = (v: number) => String(v).padStart(20, '0');
        for (let v = 0; v < 13; v++) await store.put(`_delta_log/${pad(v)}.json`, `{"v":${v}}`);
        await store.put(`_delta_log/${pad(10)}.checkpoint.parquet`, 'cp');
        await store.put('_delta_log/_last_checkpoint', '{"version":10}');
        const keysOf = async (start?: string, end?: string) =>
          (await store.list('_delta_log/0', { ...(start ? { startAt: start } : {}), ...(end ? { endBefore: end } : {}) })).map((m) => m.key);
        // versions 3..10 (the checkpoint of 10 sorts before 10's commit), not 11
        expect(await keysOf(`_delta_log/${pad(3)}`, `_delta_log/${pad(11)}`)).toEqual([
          ...[3, 4, 5, 6, 7, 8, 9].map((v) => `_delta_log/${pad(v)}.json`),
          `_delta_log/${pad(10)}.checkpoint.parquet`,
          `_delta_log/${pad(10)}.json`,
        ]);
        expect(await keysOf(undefined, `_delta_log/${pad(2)}`)).toEqual([`_delta_log/${pad(0)}.json`, `_delta_log/${pad(1)}.json`]);
        expect(await keysOf(`_delta_log/${pad(5)}`, `_delta_log/${pad(5)}`)).toEqual([]);
      });

      it('distinguishes a directory prefix from a sibling with a longer name', async () => {
        await store.put('dir/x', '1');
        await store.put('dir2/y', '2');
        await store.put('dir.txt', '3');
        await store.put('di', '4');
        const keysOf = async (p: string) => (await store.list(p)).map((m) => m.key);
        expect(await keysOf('dir/')).toEqual(['dir/x']);
        expect(await keysOf('dir')).toEqual(['dir.txt', 'dir/x', 'dir2/y']);
        expect(await keysOf('di')).toEqual(['di', 'dir.txt', 'dir/x', 'dir2/y']);
      });
    });

    describe('keys with special characters', () => {
      const specials = [
        'part=a b%20c/é=ü/file 1.parquet',
        'x/%25/%/y',
        'date=2021-09-08 11%3A11%3A11/part-0.parquet',
        '日本/データ.json',
        "p=a+b&c;d,e'f(g)!~@$/h.txt",
        'emoji 😀/z',
        'sp ace/ lead and trail ',
        'hash#/q?uery',
      ];

      it('round-trip through put/get/head/list/copy/delete unchanged', async () => {
        for (const [i, k] of specials.entries()) await store.put(k, `content ${i}`);
        for (const [i, k] of specials.entries()) {
          expect(text.decode(await store.get(k))).toBe(`content ${i}`);
          expect((await store.head(k))?.key).toBe(k);
        }
        const listed = (await store.list('')).map((m) => m.key);
        expect(listed).toEqual([...specials].sort(byteOrder));

        expect((await store.list('part=a b%20c/')).map((m) => m.key)).toEqual(['part=a b%20c/é=ü/file 1.parquet']);
        expect((await store.list('part=a b%20c/é=')).map((m) => m.key)).toEqual(['part=a b%20c/é=ü/file 1.parquet']);
        // '%20' in a key is three characters, never a space
        expect(await store.list('part=a b c/')).toEqual([]);
        expect(await store.head('part=a b c/é=ü/file 1.parquet')).toBeUndefined();

        await store.copy('part=a b%20c/é=ü/file 1.parquet', 'copié/ü ü/%41.parquet');
        expect(text.decode(await store.get('copié/ü ü/%41.parquet'))).toBe('content 0');
        expect(await store.head('copié/ü ü/A.parquet')).toBeUndefined();

        await store.delete('part=a b%20c/é=ü/file 1.parquet');
        expect(await store.head('part=a b%20c/é=ü/file 1.parquet')).toBeUndefined();
        expect(await store.list('part=')).toEqual([]);
      });

      it('putIfAbsent works on special keys', async () => {
        const k = specials[0];
        expect(await store.putIfAbsent(k, 'one')).toBe(true);
        expect(await store.putIfAbsent(k, 'two')).toBe(false);
        expect(text.decode(await store.get(k))).toBe('one');
      });
    });

    describe('putIfAbsent', () => {
      it('returns true then false and keeps the first content', async () => {
        const key = '_delta_log/00000000000000000007.json';
        expect(await store.putIfAbsent(key, 'winner')).toBe(true);
        expect(await store.putIfAbsent(key, 'loser')).toBe(false);
        expect(await store.putIfAbsent(key, utf8.encode('loser too'))).toBe(false);
        expect(text.decode(await store.get(key))).toBe('winner');
        expect((await store.list('_delta_log/')).map((m) => m.key)).toEqual([key]);
      });

      it('creates missing parent directories', async () => {
        expect(await store.putIfAbsent('deep/er/and/deeper/x.json', '{}')).toBe(true);
        expect(text.decode(await store.get('deep/er/and/deeper/x.json'))).toBe('{}');
      });

      it('lets exactly one of 50 concurrent writers win', async () => {
        const key = '_delta_log/00000000000000000042.json';
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => store.putIfAbsent(key, `writer ${i}\n`.repeat(100 + i))),
        );
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        expect(winners).toHaveLength(1);
        expect(text.decode(await store.get(key))).toBe(`writer ${winners[0]}\n`.repeat(100 + winners[0]));
        // no temp or partial files are visible
        expect((await store.list('')).map((m) => m.key)).toEqual([key]);
      });

      it('does not disturb a key written with put', async () => {
        await store.put('k', 'from put');
        expect(await store.putIfAbsent('k', 'from putIfAbsent')).toBe(false);
        expect(text.decode(await store.get('k'))).toBe('from put');
      });
    });

    describe('getRange', () => {
      it('reads exactly the requested bytes', async () => {
        const bytes = new Uint8Array(10_000);
        for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 251;
        await store.put('range.bin', bytes);
        const check = async (start: number, length: number, expectedLength = length) => {
          const got = await store.getRange('range.bin', start, length);
          expect(got.byteLength).toBe(expectedLength);
          expect(Buffer.from(got).equals(Buffer.from(bytes.subarray(start, start + expectedLength)))).toBe(true);
        };
        await check(0, 4);
        await check(1234, 5678);
        await check(9_992, 8); // the last 8 bytes (a Parquet footer read)
        await check(0, 10_000);
        await check(500, 0);
        await check(9_990, 100, 10); // past the end: what exists
        await check(10_000, 10, 0); // at the end: nothing
      });
    });

    describe('copy', () => {
      it('copies into new directories and leaves the source', async () => {
        await store.put('src/a.parquet', 'payload');
        await store.copy('src/a.parquet', 'archive/2024/01/a.parquet');
        expect(text.decode(await store.get('archive/2024/01/a.parquet'))).toBe('payload');
        expect(text.decode(await store.get('src/a.parquet'))).toBe('payload');
      });

      it('overwrites an existing destination', async () => {
        await store.put('s', 'new');
        await store.put('d', 'old old old');
        await store.copy('s', 'd');
        expect(text.decode(await store.get('d'))).toBe('new');
      });
    });

    describe('delete', () => {
      it('removes the object, and deleting again is a no-op', async () => {
        await store.put('x/y/z.txt', 'z');
        await store.put('x/y/keep.txt', 'k');
        await store.delete('x/y/z.txt');
        expect(await store.head('x/y/z.txt')).toBeUndefined();
        await expectNotFound(store.get('x/y/z.txt'));
        expect((await store.list('x/')).map((m) => m.key)).toEqual(['x/y/keep.txt']);
        await store.delete('x/y/z.txt');
      });

      it('a deleted key can be created again with putIfAbsent', async () => {
        await store.put('again', 'one');
        await store.delete('again');
        expect(await store.putIfAbsent('again', 'two')).toBe(true);
        expect(text.decode(await store.get('again'))).toBe('two');
      });
    });

    describe('putFile', () => {
      let scratch: string;
      beforeEach(async () => {
        scratch = await mkdtemp(join(tmpdir(), 'lakelet-contract-putfile-'));
      });
      afterEach(async () => {
        await rm(scratch, { recursive: true, force: true });
      });

      it('moves a local file into the store and consumes it', async () => {
        const local = join(scratch, 'upload.parquet');
        const bytes = utf8.encode('PAR1 pretend parquet PAR1');
        await writeFile(local, bytes);
        await store.putFile('part=x y/upload.parquet', local);
        expect(Buffer.from(await store.get('part=x y/upload.parquet')).equals(Buffer.from(bytes))).toBe(true);
        expect((await store.head('part=x y/upload.parquet'))?.size).toBe(bytes.byteLength);
        await expect(access(local)).rejects.toThrow();
      });

      it('replaces an existing object', async () => {
        await store.put('target.bin', 'old content');
        const local = join(scratch, 'new.bin');
        await writeFile(local, 'new');
        await store.putFile('target.bin', local);
        expect(text.decode(await store.get('target.bin'))).toBe('new');
      });
    });

    describe('localPath', () => {
      it('is undefined or a readable path holding the object', async () => {
        await store.put('lp/é x.txt', 'local');
        const p = store.localPath('lp/é x.txt');
        if (p === undefined) return;
        expect(text.decode(await readFile(p))).toBe('local');
      });
    });
  });
}
