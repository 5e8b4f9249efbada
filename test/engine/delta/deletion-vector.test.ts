import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Compute } from '../../../src/adapters/compute/compute.ts';
import { openCompute } from '../../../src/adapters/compute/open-compute.ts';
import { sqlString } from '../../../src/adapters/compute/sql.ts';
import type { ObjectMeta, ObjectStore } from '../../../src/adapters/storage/object-store.ts';
import { ObjectNotFoundError } from '../../../src/adapters/storage/object-store.ts';
import { LocalObjectStore } from '../../../src/adapters/storage/local/local-object-store.ts';
import type { DeletionVectorDescriptor } from '../../../src/engine/delta/actions.ts';
import {
  deletionVectorKey,
  deletionVectorUniqueId,
  encodeDeletionVectorFile,
  encodeInlineDeletionVector,
  readDeletionVector,
} from '../../../src/engine/delta/deletion-vector.ts';
import { decodeRoaringTreemap, encodeRoaringTreemap, RoaringFormatError } from '../../../src/engine/delta/roaring-bitmap.ts';
import { uuidToBytes, uuidToString, z85Decode, z85Encode, Z85Error } from '../../../src/engine/delta/z85.ts';
import { CorruptLogError, MissingFileError, ProtocolError } from '../../../src/engine/errors.ts';

const GOLDEN = resolve(process.cwd(), '../shared/conformance/golden');
const DV_TABLE = join(GOLDEN, 'dv-partitioned-with-checkpoint', 'delta');

/**
 * A read-only ObjectStore over a lookup function: enough for DV reads, independent of the real
 * LocalObjectStore (written concurrently). Writes are not needed here and throw.
 */
function readOnlyStore(uri: string, read: (key: string) => Promise<Uint8Array | undefined>): ObjectStore {
  const must = async (key: string): Promise<Uint8Array> => {
    const data = await read(key);
    if (!data) throw new ObjectNotFoundError(`${uri}/${key}`);
    return data;
  };
  const nope = (): never => {
    throw new Error('read-only test store');
  };
  return {
    uri,
    get: must,
    getRange: async (key, start, length) => (await must(key)).slice(start, start + length),
    head: async (key): Promise<ObjectMeta | undefined> => {
      const data = await read(key);
      return data && { key, size: data.length, lastModified: 0 };
    },
    list: nope,
    put: nope,
    putIfAbsent: nope,
    putFile: nope,
    delete: nope,
    copy: nope,
    localPath: () => undefined,
  };
}

function dirStore(root: string): ObjectStore {
  return readOnlyStore(pathToFileURL(root).href, async (key) => {
    const file = join(root, ...key.split('/'));
    const s = await stat(file).catch(() => undefined);
    return s?.isFile() ? new Uint8Array(await readFile(file)) : undefined;
  });
}

function memStore(files: Record<string, Uint8Array>): ObjectStore {
  return readOnlyStore('mem://table', async (key) => files[key]);
}

interface LoggedDv {
  table: string;
  version: number;
  kind: 'add' | 'remove';
  path: string;
  numRecords?: number;
  dv: DeletionVectorDescriptor;
}

/** Every DV descriptor in the JSON commits of a golden table, with the version naming it. */
function loggedDvs(tableDir: string): LoggedDv[] {
  const logDir = join(tableDir, '_delta_log');
  const out: LoggedDv[] = [];
  for (const name of readdirSync(logDir).filter((n) => /^\d{20}\.json$/.test(n)).sort()) {
    const version = Number(name.slice(0, 20));
    for (const line of readFileSync(join(logDir, name), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const action = JSON.parse(line);
      for (const kind of ['add', 'remove'] as const) {
        const a = action[kind];
        if (!a?.deletionVector) continue;
        const numRecords = a.stats ? JSON.parse(a.stats).numRecords : undefined;
        out.push({ table: tableDir, version, kind, path: a.path, numRecords, dv: a.deletionVector });
      }
    }
  }
  return out;
}

const ctx = { tablePath: 'mem://table', version: 7 };

describe('z85', () => {
  it('matches the RFC 32 test vector and round-trips with padding', () => {
    expect(z85Encode(new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]))).toBe('HelloWorld');
    expect(Array.from(z85Decode('HelloWorld'))).toEqual([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    const odd = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
    const text = z85Encode(odd);
    expect(text).toHaveLength(10);
    expect(Array.from(z85Decode(text, odd.length))).toEqual(Array.from(odd));
  });

  it('decodes a golden DV name to the UUID of its file', () => {
    // From dv-partitioned-with-checkpoint version 1; the file deletion_vector_0229ec3d-....bin exists.
    expect(uuidToString(z85Decode('0X9F0q2<2yJ-f)Gm2!e0'))).toBe('0229ec3d-5100-44e1-8e53-702d448da8da');
    expect(z85Encode(uuidToBytes('0229ec3d-5100-44e1-8e53-702d448da8da'))).toBe('0X9F0q2<2yJ-f)Gm2!e0');
  });

  it('rejects bad text', () => {
    expect(() => z85Decode('abcd')).toThrow(Z85Error);
    expect(() => z85Decode('abc"e')).toThrow(Z85Error);
    expect(() => z85Decode('#####')).toThrow(/overflows/);
  });
});

describe('roaring bitmap codec', () => {
  const roundTrip = (rows: number[]): number[] => decodeRoaringTreemap(encodeRoaringTreemap(rows));
  const cookieOfFirstBucket = (bytes: Uint8Array): number =>
    new DataView(bytes.buffer, bytes.byteOffset).getUint32(16, true) & 0xffff;

  it('round-trips empty and small array containers', () => {
    expect(roundTrip([])).toEqual([]);
    expect(roundTrip([9, 3, 3, 0, 65535, 65536])).toEqual([0, 3, 9, 65535, 65536]);
  });

  it('round-trips run containers (cookie 12347), with and without the offset header', () => {
    const long = Array.from({ length: 70000 }, (_, i) => i + 5);
    const bytes = encodeRoaringTreemap(long);
    expect(cookieOfFirstBucket(bytes)).toBe(12347);
    expect(decodeRoaringTreemap(bytes)).toEqual(long);
    // Six containers mixing runs, arrays and a bitset: >= 4 containers means offsets are written.
    const mixed = [
      ...Array.from({ length: 3000 }, (_, i) => i), // run
      ...[65536 + 7, 65536 + 9], // array
      ...Array.from({ length: 6000 }, (_, i) => 2 * 65536 + i * 3), // bitset
      ...Array.from({ length: 65536 }, (_, i) => 3 * 65536 + i), // one full run
      4 * 65536 + 1,
      ...Array.from({ length: 10 }, (_, i) => 5 * 65536 + 100 + i),
    ];
    const mixedBytes = encodeRoaringTreemap(mixed);
    expect(cookieOfFirstBucket(mixedBytes)).toBe(12347);
    expect(decodeRoaringTreemap(mixedBytes)).toEqual(mixed);
  });

  it('round-trips bitset containers (> 4096 scattered values, cookie 12346)', () => {
    const evens = Array.from({ length: 10000 }, (_, i) => i * 2);
    const bytes = encodeRoaringTreemap(evens);
    expect(cookieOfFirstBucket(bytes)).toBe(12346);
    expect(bytes.length).toBeGreaterThan(8192);
    expect(decodeRoaringTreemap(bytes)).toEqual(evens);
  });

  it('picks a run container exactly while it is the smallest encoding (stops counting runs past that)', () => {
    // Runs of 3 values: 2047 runs (6141 values) take 2 + 4 * 2047 = 8190 bytes, below a bitset's
    // 8192; one run more (8194 bytes) and the bitset wins.
    const runsOf3 = (runs: number) => Array.from({ length: runs * 3 }, (_, i) => Math.floor(i / 3) * 5 + (i % 3));
    for (const [runs, cookie, size] of [
      [2047, 12347, 8190],
      [2048, 12346, 8192],
    ] as const) {
      const rows = runsOf3(runs);
      const bytes = encodeRoaringTreemap(rows);
      expect(cookieOfFirstBucket(bytes)).toBe(cookie);
      // magic 4 + bucket count 8 + key 4, then the bitmap: its header (cookie and run flags, or
      // cookie, count and one offset; the container's key and cardinality) and the container.
      const header = cookie === 12347 ? 4 + 1 + 4 : 4 + 4 + 4 + 4;
      expect(bytes.length).toBe(16 + header + size);
      expect(decodeRoaringTreemap(bytes)).toEqual(rows);
    }
    // Arrays: 4 values in 2 runs (2 + 8 = 10 bytes) against an array of 8 bytes: the array.
    expect(cookieOfFirstBucket(encodeRoaringTreemap([1, 2, 7, 8]))).toBe(12346);
    // 4 values in one run (6 bytes) against 8: the run.
    expect(cookieOfFirstBucket(encodeRoaringTreemap([1, 2, 3, 4]))).toBe(12347);
  });

  it('splits containers and buckets exactly at 2^16 and 2^32 boundaries', () => {
    const rows = [65534, 65535, 65536, 131071, 131072, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 65535, 2 ** 32 + 65536, 2 * 2 ** 32];
    const bytes = encodeRoaringTreemap(rows);
    expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(3); // bucket count
    expect(decodeRoaringTreemap(bytes)).toEqual(rows);
  });

  it('round-trips several high buckets up to 2^53 - 1', () => {
    const rows = [1, 2 ** 32 + 5, 3 * 2 ** 32 + 70000, 2 ** 40, Number.MAX_SAFE_INTEGER];
    const bytes = encodeRoaringTreemap(rows);
    expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(5); // bucket count
    expect(decodeRoaringTreemap(bytes)).toEqual(rows);
  });

  it('round-trips random sets', () => {
    let seed = 42;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let t = 0; t < 20; t++) {
      const rows = new Set<number>();
      const n = Math.floor(rand() * 20000);
      const span = [300, 70000, 5_000_000, 2 ** 34][t % 4];
      for (let i = 0; i < n; i++) rows.add(Math.floor(rand() * span));
      if (t % 3 === 0) for (let i = 0; i < 5000; i++) rows.add(1000 + i); // some runs
      const sorted = [...rows].sort((a, b) => a - b);
      expect(roundTrip(sorted)).toEqual(sorted);
    }
  });

  it('reads a hand-built portable bitmap with a run container and no offset header', () => {
    // Spec example: runs (1,10) (20,0) (31,2) = 1..11, 20, 31..33, in one container with key 2.
    const u16 = (...v: number[]): number[] => v.flatMap((x) => [x & 0xff, x >> 8]);
    const u32 = (...v: number[]): number[] => v.flatMap((x) => [...u16(x & 0xffff), ...u16(x >>> 16)]);
    const bytes = new Uint8Array([
      ...u32(1681511377), ...u32(1, 0), ...u32(0), // magic, one bucket, key 0
      ...u16(12347, 0), 0b1, // cookie with 1 container, run flags
      ...u16(2, 15 - 1), // key 2, cardinality 15
      ...u16(3, 1, 10, 20, 0, 31, 2),
    ]);
    const base = 2 * 65536;
    const expected = [...Array.from({ length: 11 }, (_, i) => base + 1 + i), base + 20, base + 31, base + 32, base + 33];
    expect(decodeRoaringTreemap(bytes)).toEqual(expected);
  });

  it('rejects bad magic, truncation, trailing bytes and keys beyond 2^53', () => {
    const good = encodeRoaringTreemap([1, 2, 3]);
    const badMagic = good.slice();
    badMagic[0] ^= 1;
    expect(() => decodeRoaringTreemap(badMagic)).toThrow(/magic/);
    expect(() => decodeRoaringTreemap(good.subarray(0, good.length - 1))).toThrow(RoaringFormatError);
    expect(() => decodeRoaringTreemap(new Uint8Array([...good, 0]))).toThrow(/unexpected bytes/);
    const huge = encodeRoaringTreemap([5]);
    new DataView(huge.buffer).setUint32(12, 2 ** 21, true); // bucket key
    expect(() => decodeRoaringTreemap(huge)).toThrow(/2\^53/);
  });
});

describe('readDeletionVector on golden tables', () => {
  // Golden tables whose JSON commits carry DV descriptors (others only mention the column name
  // in checkpoint schemas).
  const tables = readdirSync(GOLDEN)
    .map((name) => join(GOLDEN, name, 'delta'))
    .filter((dir) => existsSync(join(dir, '_delta_log')) && loggedDvs(dir).length > 0);

  it('finds the golden tables with deletion vectors', () => {
    expect(tables).toContain(DV_TABLE);
  });

  it('decodes every logged DV with exactly its descriptor cardinality', async () => {
    let checked = 0;
    const files = new Set<string>();
    for (const table of tables) {
      const store = dirStore(table);
      for (const { version, dv } of loggedDvs(table)) {
        const rows = await readDeletionVector(store, dv, { tablePath: table, version });
        expect(rows).toHaveLength(dv.cardinality);
        expect(rows).toEqual([...rows].sort((a, b) => a - b));
        files.add(`${table}/${deletionVectorKey(store, dv, { tablePath: table, version })}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(18);
    const onDisk = readdirSync(DV_TABLE).filter((n) => n.startsWith('deletion_vector_'));
    expect(onDisk).toHaveLength(15);
    const referenced = onDisk.filter((n) => files.has(`${DV_TABLE}/${n}`));
    expect(referenced).toHaveLength(10);
    expect(files.size).toBe(10);
  });

  it('the 5 unreferenced DV files are well-formed DVs covering whole files (orphans)', async () => {
    // Spark wrote a DV for each DELETE that turned out to delete every row of a file (versions
    // 9-13), then removed the file instead and never committed the DV. They must still parse.
    const store = dirStore(DV_TABLE);
    const referenced = new Set(loggedDvs(DV_TABLE).map((d) => deletionVectorKey(store, d.dv, ctx)));
    const orphans = readdirSync(DV_TABLE).filter((n) => n.startsWith('deletion_vector_') && !referenced.has(n));
    expect(orphans).toHaveLength(5);
    for (const name of orphans) {
      const size = readFileSync(join(DV_TABLE, name)).length - 1 - 4 - 4; // version, size, CRC
      const rows = decodeRoaringTreemap(readFileSync(join(DV_TABLE, name)).subarray(5, 5 + size));
      expect(rows).toEqual(Array.from({ length: rows.length }, (_, i) => i));
      expect(rows.length).toBeGreaterThanOrEqual(2);
      const dv: DeletionVectorDescriptor = {
        storageType: 'u',
        pathOrInlineDv: z85Encode(uuidToBytes(name.slice('deletion_vector_'.length, -'.bin'.length))),
        offset: 1,
        sizeInBytes: size,
        cardinality: rows.length,
      };
      expect(await readDeletionVector(store, dv, ctx)).toEqual(rows); // CRC and framing check out
    }
  });

  describe('against the data', () => {
    let compute: Compute;
    beforeAll(async () => {
      compute = await openCompute({ threads: 1, memoryLimit: '512MB' });
    });
    afterAll(() => compute?.close());

    it('each DV marks exactly the rows its DELETE commits matched', async () => {
      // Commit N (N >= 1) of this table is `DELETE WHERE col1 = 2*(N-1)`, so a DV written at
      // version N must cover exactly the rows with col1 in {0, 2, ..., 2*(N-1)}.
      const store = dirStore(DV_TABLE);
      const adds = loggedDvs(DV_TABLE).filter((d) => d.kind === 'add');
      expect(adds.length).toBeGreaterThan(0);
      for (const { version, path, dv } of adds) {
        const deletedValues = Array.from({ length: version }, (_, i) => 2 * i).join(', ');
        const file = join(DV_TABLE, decodeURIComponent(path));
        const hits = await compute.query<{ r: number | string }>(
          `SELECT file_row_number AS r FROM read_parquet(${sqlString(file)}, file_row_number = true)
           WHERE col1 IN (${deletedValues}) ORDER BY r`,
        );
        const rows = await readDeletionVector(store, dv, { tablePath: DV_TABLE, version });
        expect(rows, `${path} @ v${version}`).toEqual(hits.map((h) => Number(h.r)));
      }
    });

    it('numRecords minus DV cardinalities of the latest snapshot equals the expected row count', async () => {
      // Minimal replay keyed by (path, DV unique id): a DELETE removes the file under its old DV
      // and adds it back under the new one.
      const live = new Map<string, { numRecords: number; dv?: DeletionVectorDescriptor }>();
      const logDir = join(DV_TABLE, '_delta_log');
      for (const name of readdirSync(logDir).filter((n) => n.endsWith('.json')).sort()) {
        for (const line of readFileSync(join(logDir, name), 'utf8').split('\n').filter(Boolean)) {
          const a = JSON.parse(line);
          const id = (x: { path: string; deletionVector?: DeletionVectorDescriptor }): string =>
            `${x.path}|${x.deletionVector ? deletionVectorUniqueId(x.deletionVector) : ''}`;
          if (a.add) live.set(id(a.add), { numRecords: JSON.parse(a.add.stats).numRecords, dv: a.add.deletionVector });
          if (a.remove) live.delete(id(a.remove));
        }
      }
      const store = dirStore(DV_TABLE);
      let visible = 0;
      for (const { numRecords, dv } of live.values()) {
        const deleted = dv ? (await readDeletionVector(store, dv, { tablePath: DV_TABLE, version: 15 })).length : 0;
        visible += numRecords - deleted;
      }
      const expectedGlob = join(GOLDEN, 'dv-partitioned-with-checkpoint', 'expected', '*.parquet');
      const [{ n }] = await compute.query<{ n: number | string }>(
        `SELECT count(*) AS n FROM read_parquet(${sqlString(expectedGlob)})`,
      );
      expect(Number(n)).toBeGreaterThan(0);
      expect(visible).toBe(Number(n));
    });
  });

  it('reads the same rows through the real LocalObjectStore, and maps its not-found error', async () => {
    const local = new LocalObjectStore(DV_TABLE);
    const helper = dirStore(DV_TABLE);
    for (const { version, dv } of loggedDvs(DV_TABLE)) {
      const c = { tablePath: DV_TABLE, version };
      expect(await readDeletionVector(local, dv, c)).toEqual(await readDeletionVector(helper, dv, c));
    }
    const [{ dv }] = loggedDvs(DV_TABLE);
    const absent = { ...dv, pathOrInlineDv: z85Encode(uuidToBytes('00000000-0000-4000-8000-000000000000')) };
    await expect(readDeletionVector(local, absent, ctx)).rejects.toThrow(MissingFileError);
  });

  it('reads a DV given as an absolute path (storageType p) under the table root', async () => {
    const store = dirStore(DV_TABLE);
    const [{ dv, version }] = loggedDvs(DV_TABLE);
    const key = deletionVectorKey(store, dv, { tablePath: DV_TABLE, version })!;
    const absolute: DeletionVectorDescriptor = { ...dv, storageType: 'p', pathOrInlineDv: `${store.uri}/${key}` };
    const expected = await readDeletionVector(store, dv, { tablePath: DV_TABLE, version });
    expect(await readDeletionVector(store, absolute, { tablePath: DV_TABLE, version })).toEqual(expected);
    const outside = { ...absolute, pathOrInlineDv: 'file:///elsewhere/deletion_vector_x.bin' };
    await expect(readDeletionVector(store, outside, { tablePath: DV_TABLE, version })).rejects.toThrow(ProtocolError);
  });

  it('a missing DV file is a MissingFileError naming the file and version', async () => {
    const dv: DeletionVectorDescriptor = {
      storageType: 'u',
      pathOrInlineDv: z85Encode(uuidToBytes('00000000-1111-2222-3333-444444444444')),
      offset: 1,
      sizeInBytes: 34,
      cardinality: 1,
    };
    const err = await readDeletionVector(dirStore(DV_TABLE), dv, { tablePath: DV_TABLE, version: 3 }).catch((e) => e);
    expect(err).toBeInstanceOf(MissingFileError);
    expect(err.filePath).toBe('deletion_vector_00000000-1111-2222-3333-444444444444.bin');
    expect(err.message).toContain('version 3');
  });
});

describe('readDeletionVector on synthetic DVs', () => {
  const uuid = 'a1b2c3d4-0000-4000-8000-123456789abc';
  const rowSets = [[0, 2, 4], Array.from({ length: 9000 }, (_, i) => i * 7), [2 ** 33 + 1]];
  const { bytes, entries } = encodeDeletionVectorFile(rowSets);
  const descriptor = (i: number, prefix = ''): DeletionVectorDescriptor => ({
    storageType: 'u',
    pathOrInlineDv: prefix + z85Encode(uuidToBytes(uuid)),
    ...entries[i],
  });

  it('reads several DVs from one file by offset, including a random prefix directory', async () => {
    const store = memStore({ [`ab/deletion_vector_${uuid}.bin`]: bytes });
    expect(deletionVectorKey(store, descriptor(0, 'ab'), ctx)).toBe(`ab/deletion_vector_${uuid}.bin`);
    for (let i = 0; i < rowSets.length; i++) {
      expect(await readDeletionVector(store, descriptor(i, 'ab'), ctx)).toEqual(rowSets[i]);
    }
  });

  it('treats an absent offset as the first DV after the version byte', async () => {
    const store = memStore({ [`deletion_vector_${uuid}.bin`]: bytes });
    expect(await readDeletionVector(store, { ...descriptor(0), offset: undefined }, ctx)).toEqual(rowSets[0]);
  });

  it('round-trips inline DVs, whose payload length need not be a multiple of 4', async () => {
    for (const rows of [[], [3], [1, 5, 9, 10, 11, 12], [2 ** 32 + 2, 7]]) {
      const dv = encodeInlineDeletionVector(rows);
      expect(dv.storageType).toBe('i');
      expect(dv.offset).toBeUndefined();
      expect(dv.cardinality).toBe(rows.length);
      expect(z85Decode(dv.pathOrInlineDv).length).toBeGreaterThanOrEqual(dv.sizeInBytes);
      expect(await readDeletionVector(memStore({}), dv, ctx)).toEqual([...rows].sort((a, b) => a - b));
    }
    expect(encodeInlineDeletionVector([3]).sizeInBytes % 4).not.toBe(0);
  });

  it('a corrupted checksum is a CorruptLogError naming the file and version', async () => {
    const damaged = bytes.slice();
    const e = entries[1];
    damaged[e.offset + 4 + e.sizeInBytes + 3] ^= 0xff; // last byte of the CRC
    const store = memStore({ [`deletion_vector_${uuid}.bin`]: damaged });
    const err = await readDeletionVector(store, descriptor(1), ctx).catch((x) => x);
    expect(err).toBeInstanceOf(CorruptLogError);
    expect(err.version).toBe(7);
    expect(err.message).toMatch(/checksum/);
    expect(err.message).toContain(`deletion_vector_${uuid}.bin`);
    expect(err.message).toContain('version 7');
    // The other DVs of the file are intact.
    expect(await readDeletionVector(store, descriptor(0), ctx)).toEqual(rowSets[0]);
  });

  it('damaged payloads, sizes and cardinalities are CorruptLogErrors', async () => {
    const store = memStore({ [`deletion_vector_${uuid}.bin`]: bytes });
    const read = (dv: DeletionVectorDescriptor): Promise<unknown> => readDeletionVector(store, dv, ctx).catch((x) => x);
    expect(await read({ ...descriptor(0), cardinality: 4 })).toBeInstanceOf(CorruptLogError);
    expect(await read({ ...descriptor(0), sizeInBytes: entries[0].sizeInBytes + 1 })).toBeInstanceOf(CorruptLogError);
    const truncated = memStore({ [`deletion_vector_${uuid}.bin`]: bytes.subarray(0, 20) });
    expect(await readDeletionVector(truncated, descriptor(0), ctx).catch((x) => x)).toBeInstanceOf(CorruptLogError);
    const wrongVersion = bytes.slice();
    wrongVersion[0] = 2;
    const v2 = memStore({ [`deletion_vector_${uuid}.bin`]: wrongVersion });
    expect(await readDeletionVector(v2, descriptor(0), ctx).catch((x) => x)).toBeInstanceOf(CorruptLogError);
    // Bad magic inside an otherwise well-framed inline DV.
    const inline = encodeInlineDeletionVector([1]);
    const raw = z85Decode(inline.pathOrInlineDv);
    raw[0] ^= 1;
    const badMagic = { ...inline, pathOrInlineDv: z85Encode(raw) };
    const err = await readDeletionVector(memStore({}), badMagic, ctx).catch((x) => x);
    expect(err).toBeInstanceOf(CorruptLogError);
    expect(err.message).toMatch(/magic/);
    // A 'u' descriptor too short to hold a UUID.
    expect(await read({ ...descriptor(0), pathOrInlineDv: 'short' })).toBeInstanceOf(CorruptLogError);
  });

  it('unique ids follow PROTOCOL.md', () => {
    expect(deletionVectorUniqueId(descriptor(1, 'ab'))).toBe(`uab${z85Encode(uuidToBytes(uuid))}@${entries[1].offset}`);
    const inline = encodeInlineDeletionVector([1]);
    expect(deletionVectorUniqueId(inline)).toBe(`i${inline.pathOrInlineDv}`);
  });
});
