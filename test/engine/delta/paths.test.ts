import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  HIVE_DEFAULT_PARTITION,
  decodeAddPath,
  encodeAddPath,
  escapePartitionValue,
  isAbsoluteAddPath,
  partitionDirectory,
  resolveAddPath,
  unescapePartitionValue,
} from '../../../src/engine/delta/paths.ts';

const golden = resolve(process.cwd(), '../shared/conformance/golden');

describe('partition value escaping (Spark ExternalCatalogUtils.escapePathName)', () => {
  it('escapes exactly Spark\'s character set, uppercase hex', () => {
    expect(escapePartitionValue('2021-09-08 11:11:11')).toBe('2021-09-08 11%3A11%3A11');
    expect(escapePartitionValue('a/b')).toBe('a%2Fb');
    expect(escapePartitionValue('x=y')).toBe('x%3Dy');
    expect(escapePartitionValue('100%')).toBe('100%25');
    expect(escapePartitionValue('"#%\'*/:=?\\{[]^')).toBe('%22%23%25%27%2A%2F%3A%3D%3F%5C%7B%5B%5D%5E');
    expect(escapePartitionValue('\u0001\n\r\u001F\u007F')).toBe('%01%0A%0D%1F%7F');
    // Spark leaves these alone (note: `}` is not in Spark's set, `{` is).
    const kept = ' !$&()+,-.;<>@_`|}~abcXYZ019é日本😀';
    expect(escapePartitionValue(kept)).toBe(kept);
    // NUL: not in Spark's set, escaped by lakelet because no store accepts it in a name.
    expect(escapePartitionValue('a\u0000b')).toBe('a%00b');
  });

  it('unescapes %XX (either hex case) and leaves malformed escapes alone', () => {
    expect(unescapePartitionValue('2021-09-08 11%3A11%3A11')).toBe('2021-09-08 11:11:11');
    expect(unescapePartitionValue('a%2fb')).toBe('a/b');
    expect(unescapePartitionValue('100%')).toBe('100%');
    expect(unescapePartitionValue('%zz%4')).toBe('%zz%4');
    expect(unescapePartitionValue('%41%42')).toBe('AB');
    expect(unescapePartitionValue('plain')).toBe('plain');
  });

  it('round-trips any string', () => {
    const samples = ['', 'plain', 'a b', '%%%', '%25', 'a=b/c:d', '"quoted"', 'tab\there', 'é/ü=ß', '😀%😀', '\u0000\u007F', '{}[]^?*'];
    for (let c = 0; c < 256; c++) samples.push(`x${String.fromCharCode(c)}y`);
    for (const s of samples) expect(unescapePartitionValue(escapePartitionValue(s))).toBe(s);
  });

  it('builds Hive-style partition directories', () => {
    expect(partitionDirectory(['a', 'b'], { a: '1', b: 'x/y' })).toBe('a=1/b=x%2Fy');
    expect(partitionDirectory(['a', 'b'], { a: null, b: '' })).toBe(`a=${HIVE_DEFAULT_PARTITION}/b=${HIVE_DEFAULT_PARTITION}`);
    expect(partitionDirectory(['a'], {})).toBe(`a=${HIVE_DEFAULT_PARTITION}`);
    expect(partitionDirectory(['col=1', 'ts'], { 'col=1': 'v', ts: '2021-09-08 11:11:11' })).toBe('col%3D1=v/ts=2021-09-08 11%3A11%3A11');
    expect(partitionDirectory([], {})).toBe('');
  });
});

describe('add.path URI encoding', () => {
  it('escapes %, space and non-URI characters but keeps / = and friends', () => {
    expect(encodeAddPath('part=a%20b/file.parquet')).toBe('part=a%2520b/file.parquet');
    expect(encodeAddPath('as_timestamp=2021-09-08 11%3A11%3A11/part-0.parquet')).toBe(
      'as_timestamp=2021-09-08%2011%253A11%253A11/part-0.parquet',
    );
    expect(encodeAddPath('special p@#h')).toBe('special%20p@%23h');
    expect(encodeAddPath("a=b/c+d&e;f,g!h~i$j'k(l)m*n:o.parquet")).toBe("a=b/c+d&e;f,g!h~i$j'k(l)m*n:o.parquet");
    expect(encodeAddPath('é/ü 😀')).toBe('%C3%A9/%C3%BC%20%F0%9F%98%80');
    expect(encodeAddPath('q?x#y[z]{w}|v\\u^t`s"r<p>o')).toBe('q%3Fx%23y%5Bz%5D%7Bw%7D%7Cv%5Cu%5Et%60s%22r%3Cp%3Eo');
    expect(encodeAddPath('tab\tnl\n')).toBe('tab%09nl%0A');
  });

  it('escapes a colon in the first segment so the path never looks like it has a scheme', () => {
    expect(encodeAddPath('c:d/e:f')).toBe('c%3Ad/e:f');
    expect(isAbsoluteAddPath(encodeAddPath('file:x'))).toBe(false);
    expect(decodeAddPath(encodeAddPath('file:x'))).toBe('file:x');
  });

  it('decodes percent-escapes as UTF-8; + stays +; malformed escapes stay literal', () => {
    expect(decodeAddPath('part=a%2520b/file.parquet')).toBe('part=a%20b/file.parquet');
    expect(decodeAddPath('special%20p@%23h')).toBe('special p@#h');
    expect(decodeAddPath('bar%2Dbar.snappy.parquet')).toBe('bar-bar.snappy.parquet');
    expect(decodeAddPath('%C3%A9%c3%bc')).toBe('éü');
    expect(decodeAddPath('a+b')).toBe('a+b');
    expect(decodeAddPath('raw é 😀 stays')).toBe('raw é 😀 stays');
    expect(decodeAddPath('mixé%20%F0%9F%98%80')).toBe('mixé 😀');
    expect(decodeAddPath('100%')).toBe('100%');
    expect(decodeAddPath('%zz')).toBe('%zz');
    expect(decodeAddPath('a%2Fb')).toBe('a/b');
  });

  it('round-trips keys through encode/decode', () => {
    const keys = [
      'part=a b%20c/é=ü/file 1.parquet',
      'x/%25/%/y',
      'date=2021-09-08 11%3A11%3A11/part-00000-abc.c000.snappy.parquet',
      '日本/データ.json',
      "p=a+b&c;d,e'f(g)!~@$/h.txt",
      'emoji 😀/z',
      'hash#/q?uery',
      'c:/d',
      'deletion_vector_0c6cbaaf-5e04-4c9d-8959-1088814f58ef.bin',
    ];
    for (let c = 1; c < 128; c++) if (c !== 0x2f) keys.push(`k${String.fromCharCode(c)}v`);
    for (const k of keys) expect(decodeAddPath(encodeAddPath(k))).toBe(k);
  });
});

describe('resolveAddPath', () => {
  const table = 'file:///data/my table';

  it('relative paths become decoded keys', () => {
    expect(resolveAddPath(table, 'part=a%2520b/file.parquet')).toEqual({ kind: 'relative', key: 'part=a%20b/file.parquet' });
    expect(resolveAddPath(table, 'special%20p@%23h')).toEqual({ kind: 'relative', key: 'special p@#h' });
    expect(resolveAddPath(table, './a//b/../c.parquet')).toEqual({ kind: 'relative', key: 'a/c.parquet' });
  });

  it('absolute paths inside the table become relative keys, whatever their spelling', () => {
    for (const p of [
      '/data/my%20table/x%20y.parquet',
      'file:/data/my%20table/x%20y.parquet',
      'file:///data/my%20table/x%20y.parquet',
      'file://localhost/data/my%20table/x%20y.parquet',
      'FILE:///data/my%20table/./sub/../x%20y.parquet',
    ]) {
      expect(resolveAddPath(table, p), p).toEqual({ kind: 'relative', key: 'x y.parquet' });
    }
  });

  it('absolute paths outside the table keep a canonical uri and a local path', () => {
    const expected = { kind: 'absolute', uri: 'file:///some/with space/p@#h', localPath: '/some/with space/p@#h' };
    expect(resolveAddPath(table, '/some/with%20space/p@%23h')).toEqual(expected);
    expect(resolveAddPath(table, 'file:/some/with%20space/p@%23h')).toEqual(expected);
    expect(resolveAddPath(table, 'file:///some/with%20space/p@%23h')).toEqual(expected);
    // a sibling whose name merely starts with the table's name is outside
    expect(resolveAddPath(table, '/data/my%20table2/x').kind).toBe('absolute');
    // `..` that climbs out of the table
    expect(resolveAddPath(table, '../other/x.parquet')).toEqual({
      kind: 'absolute',
      uri: 'file:///data/other/x.parquet',
      localPath: '/data/other/x.parquet',
    });
  });

  it('handles remote tables: same bucket → key, other bucket or scheme → absolute without a local path', () => {
    const gcs = 'gs://bucket/warehouse/t';
    expect(resolveAddPath(gcs, 'gs://bucket/warehouse/t/p=1/f.parquet')).toEqual({ kind: 'relative', key: 'p=1/f.parquet' });
    expect(resolveAddPath(gcs, '/warehouse/t/p=1/f.parquet')).toEqual({ kind: 'relative', key: 'p=1/f.parquet' });
    expect(resolveAddPath(gcs, 'gs://other/warehouse/t/f.parquet')).toEqual({ kind: 'absolute', uri: 'gs://other/warehouse/t/f.parquet' });
    expect(resolveAddPath(gcs, 's3://bucket/warehouse/t/f.parquet')).toEqual({ kind: 'absolute', uri: 's3://bucket/warehouse/t/f.parquet' });
    expect(resolveAddPath(gcs, 'f%20g.parquet')).toEqual({ kind: 'relative', key: 'f g.parquet' });
  });

  it('takes the table uri as plain text (the ObjectStore.uri form, not percent-encoded)', () => {
    const odd = 'file:///tmp/t%41 b';
    expect(resolveAddPath(odd, 'file:///tmp/t%2541%20b/x')).toEqual({ kind: 'relative', key: 'x' });
    expect(resolveAddPath(odd, 'file:///tmp/tA%20b/x').kind).toBe('absolute');
  });

  it('rejects a path naming the table directory itself', () => {
    expect(() => resolveAddPath(table, '.')).toThrow(/table directory/);
    expect(() => resolveAddPath(table, 'file:///data/my%20table/')).toThrow(/table directory/);
  });
});

describe.skipIf(!existsSync(golden))('add paths of the golden tables (Spark-written logs)', () => {
  /** Every add/remove/cdc path in the JSON commits of a golden table. */
  function logPaths(table: string): { action: string; path: string }[] {
    const log = join(golden, table, 'delta', '_delta_log');
    if (!existsSync(log)) return [];
    const out: { action: string; path: string }[] = [];
    for (const f of readdirSync(log).filter((n) => /^\d{20}\.json$/.test(n))) {
      for (const line of readFileSync(join(log, f), 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const a = JSON.parse(line) as Record<string, { path?: string }>;
        for (const action of ['add', 'remove', 'cdc']) {
          if (a[action]?.path) out.push({ action, path: a[action].path! });
        }
      }
    }
    return out;
  }
  const tableUri = (t: string) => `file://${join(golden, t, 'delta')}`;

  // Logs written by hand for log-replay tests: their paths name files that never existed.
  const fakePaths = new Set([
    'checkpoint',
    'data-reader-absolute-paths-escaped-chars',
    'delete-re-add-same-file-different-transactions',
    'deltalog-commit-info',
    'deltalog-getChanges',
    'deltalog-invalid-protocol-version',
    'deltalog-state-reconstruction-from-checkpoint-missing-metadata',
    'deltalog-state-reconstruction-without-metadata',
    'deltalog-state-reconstruction-without-protocol',
    'log-replay-special-characters',
    'log-replay-special-characters-a',
    'log-replay-special-characters-b',
    'snapshot-vacuumed',
    'update-deleted-directory',
    'versions-not-contiguous',
    'canonicalized-paths-normal-a',
    'canonicalized-paths-normal-b',
    'canonicalized-paths-special-a',
    'canonicalized-paths-special-b',
  ]);

  it('decodes every add.path of data-reader-partition-values to a file that exists', () => {
    const paths = logPaths('data-reader-partition-values');
    expect(paths.length).toBe(3);
    for (const { path } of paths) {
      const r = resolveAddPath(tableUri('data-reader-partition-values'), path);
      expect(r.kind).toBe('relative');
      const key = (r as { key: string }).key;
      expect(existsSync(join(golden, 'data-reader-partition-values', 'delta', key)), key).toBe(true);
      expect(key).toBe(decodeAddPath(path));
      // Spark spells the path exactly as encodeAddPath does.
      expect(encodeAddPath(key)).toBe(path);
    }
    // The directory on disk holds the escaped value; the log double-escapes its '%'.
    const ts = paths.map((p) => p.path).find((p) => p.startsWith('as_int=1/'))!;
    expect(ts).toContain('as_timestamp=2021-09-08%2011%253A11%253A11/');
    expect(decodeAddPath(ts)).toContain('as_timestamp=2021-09-08 11%3A11%3A11/');
    expect(unescapePartitionValue('2021-09-08 11%3A11%3A11')).toBe('2021-09-08 11:11:11');
    expect(partitionDirectory(['as_timestamp'], { as_timestamp: '2021-09-08 11:11:11' })).toBe('as_timestamp=2021-09-08 11%3A11%3A11');
  });

  it('every relative path in every real golden log names an existing file, and re-encodes to Spark\'s spelling', () => {
    let checked = 0;
    for (const t of readdirSync(golden)) {
      if (fakePaths.has(t)) continue;
      for (const { path } of logPaths(t)) {
        const r = resolveAddPath(tableUri(t), path);
        expect(r.kind, `${t}: ${path}`).toBe('relative');
        const key = (r as { key: string }).key;
        expect(existsSync(join(golden, t, 'delta', key)), `${t}: ${path} -> ${key}`).toBe(true);
        expect(encodeAddPath(key), `${t}: ${path}`).toBe(path);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('log-replay-special-characters: the add path decodes to "special p@#h"', () => {
    for (const t of ['log-replay-special-characters', 'log-replay-special-characters-a', 'log-replay-special-characters-b']) {
      const paths = logPaths(t);
      expect(paths.length).toBeGreaterThan(0);
      for (const { path } of paths) {
        expect(path).toBe('special%20p@%23h');
        expect(resolveAddPath(tableUri(t), path)).toEqual({ kind: 'relative', key: 'special p@#h' });
        expect(encodeAddPath('special p@#h')).toBe(path);
      }
    }
  });

  it('canonicalized-paths: add and remove spell one absolute file three ways and resolve alike', () => {
    for (const t of ['canonicalized-paths-normal-a', 'canonicalized-paths-normal-b', 'canonicalized-paths-special-a', 'canonicalized-paths-special-b']) {
      const paths = logPaths(t);
      const add = paths.find((p) => p.action === 'add')!;
      const remove = paths.find((p) => p.action === 'remove')!;
      expect(add.path.startsWith('/')).toBe(true);
      expect(remove.path.startsWith('file:')).toBe(true);
      const a = resolveAddPath(tableUri(t), add.path);
      const r = resolveAddPath(tableUri(t), remove.path);
      expect(a.kind).toBe('absolute');
      expect(r).toEqual(a);
    }
    expect(resolveAddPath(tableUri('canonicalized-paths-special-a'), '/some/unqualified/with%20space/p@%23h')).toEqual({
      kind: 'absolute',
      uri: 'file:///some/unqualified/with space/p@#h',
      localPath: '/some/unqualified/with space/p@#h',
    });
  });

  it('data-reader-absolute-paths-escaped-chars: over-escaped and escaping paths', () => {
    const t = 'data-reader-absolute-paths-escaped-chars';
    const paths = logPaths(t).map((p) => p.path);
    // `%2D` is an unnecessary escape of '-'
    expect(paths).toContain('bar%2Dbar.snappy.parquet');
    expect(resolveAddPath(tableUri(t), 'bar%2Dbar.snappy.parquet')).toEqual({ kind: 'relative', key: 'bar-bar.snappy.parquet' });
    // `..//Users/...` climbs out of the table directory: an absolute location, never a key with `..`
    const climbing = paths.find((p) => p.startsWith('..'))!;
    const r = resolveAddPath(tableUri(t), climbing);
    expect(r.kind).toBe('absolute');
    expect((r as { localPath?: string }).localPath).toBe(join(golden, t, climbing.slice(3)));
  });
});
