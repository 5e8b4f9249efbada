import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalFileCache } from '../../../src/adapters/storage/local-cache.ts';
import { LocalObjectStore } from '../../../src/adapters/storage/local/local-object-store.ts';
import type { ObjectStore } from '../../../src/adapters/storage/object-store.ts';
import { tempDir } from '../../support/temp.ts';

/** The bounded local cache of remote objects (what DuckDB reads for a gs:// table). */
let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

/** A store whose objects have no local path (as on GCS), backed by real files; counts its reads. */
function remoteLike(dir: string): ObjectStore & { gets: string[] } {
  const inner = new LocalObjectStore(dir);
  const gets: string[] = [];
  return Object.assign(Object.create(inner) as ObjectStore, {
    uri: `gs://bucket/${dir.split('/').pop()}`,
    gets,
    localPath: () => undefined,
    get: async (key: string) => {
      gets.push(key);
      return inner.get(key);
    },
  });
}

describe('LocalFileCache', () => {
  it('fetches an object once, then serves it from disk', async () => {
    const t = tempDir('lakelet-cache-');
    cleanup = t.cleanup;
    const store = remoteLike(join(t.dir, 'remote'));
    await new LocalObjectStore(join(t.dir, 'remote')).put('part-0.parquet', 'abc');
    const cache = new LocalFileCache('test', join(t.dir, 'cache'), 1024);
    const first = await cache.fileFor(store, 'part-0.parquet', 3);
    const second = await cache.fileFor(store, 'part-0.parquet', 3);
    expect(second).toBe(first);
    expect(readFileSync(first, 'utf8')).toBe('abc');
    expect(store.gets).toEqual(['part-0.parquet']);
    // A fresh cache over the same folder (another process) finds it too.
    const again = new LocalFileCache('test', join(t.dir, 'cache'), 1024);
    expect(await again.fileFor(store, 'part-0.parquet', 3)).toBe(first);
    expect(store.gets).toEqual(['part-0.parquet']);
  });

  it('stays within its bound by evicting the least recently used entries, never a pinned one', async () => {
    const t = tempDir('lakelet-cache-');
    cleanup = t.cleanup;
    const remote = new LocalObjectStore(join(t.dir, 'remote'));
    for (const k of ['a', 'b', 'c', 'd']) await remote.put(`${k}.parquet`, k.repeat(400));
    const store = remoteLike(join(t.dir, 'remote'));
    let clock = 1_000_000;
    const cache = new LocalFileCache('test', join(t.dir, 'cache'), 1000, { pinMs: 10, now: () => clock });
    const paths: Record<string, string> = {};
    for (const k of ['a', 'b']) {
      paths[k] = await cache.fileFor(store, `${k}.parquet`, 400);
      clock += 100;
    }
    await cache.fileFor(store, 'a.parquet', 400); // a is now more recent than b
    clock += 100;
    paths.c = await cache.fileFor(store, 'c.parquet', 400);
    expect(existsSync(paths.b)).toBe(false);
    expect(existsSync(paths.a)).toBe(true);
    expect(cache.sizeInBytes).toBeLessThanOrEqual(1000);
    // Everything used within pinMs stays, even over the bound.
    const pinned = new LocalFileCache('test', join(t.dir, 'cache2'), 500, { pinMs: 60_000, now: () => clock });
    await pinned.fileFor(store, 'c.parquet', 400);
    await pinned.fileFor(store, 'd.parquet', 400);
    expect(pinned.sizeInBytes).toBe(800);
  });
});
