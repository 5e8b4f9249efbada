import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ObjectStore } from './object-store.ts';

/**
 * A named, bounded local cache of remote objects. DuckDB reads local files only (httpfs is not in
 * the npm package and extensions are never downloaded), so a remote store's objects — Delta data
 * files, checkpoints, landed files on GCS — are copied here once and read from here. Entries are
 * keyed by store URI, key and size: Delta files are immutable, and a rewritten landing object has
 * another size or is read under a new batch.
 *
 * When the cache grows past `maxBytes` the least recently used entries go, except those used in
 * the last `pinMs` (a query may still be reading them); the cache may then stay over its bound
 * until they age. Several processes may share a cache folder: writes are temp file + rename, and
 * an entry another process evicted is simply fetched again.
 */
export class LocalFileCache {
  private index: Map<string, { size: number; usedAt: number }> | undefined;
  private total = 0;

  constructor(
    readonly name: string,
    readonly root: string,
    readonly maxBytes: number,
    private readonly options: { pinMs?: number; now?: () => number } = {},
  ) {}

  /** A local path holding the object's bytes (fetched on first use). */
  async fileFor(store: ObjectStore, key: string, size?: number): Promise<string> {
    await this.load();
    const digest = createHash('sha256').update(`${store.uri}\0${key}\0${size ?? ''}`).digest('hex');
    const target = join(this.root, digest.slice(0, 2), `${digest}.${key.split('.').pop() ?? 'bin'}`);
    // The folder is the truth (another process may have evicted or added the entry).
    const existing = await stat(target).catch(() => undefined);
    if (existing && (size === undefined || existing.size === size)) {
      this.touch(target, existing.size);
      return target;
    }
    const bytes = await store.get(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, target);
    this.touch(target, bytes.length);
    await this.evict();
    return target;
  }

  /** Bytes held now (as this process knows them). */
  get sizeInBytes(): number {
    return this.total;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private touch(path: string, size: number): void {
    const index = this.index!;
    const previous = index.get(path);
    if (previous) this.total -= previous.size;
    index.set(path, { size, usedAt: this.now() });
    this.total += size;
  }

  /** Least recently used first, never an entry used within pinMs. */
  private async evict(): Promise<void> {
    if (this.total <= this.maxBytes) return;
    const pinned = this.now() - (this.options.pinMs ?? 60_000);
    const entries = [...this.index!.entries()].sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [path, entry] of entries) {
      if (this.total <= this.maxBytes) break;
      if (entry.usedAt > pinned) break;
      await unlink(path).catch(() => {});
      this.index!.delete(path);
      this.total -= entry.size;
    }
  }

  /** What an earlier process left in the folder counts against the bound, oldest use first. */
  private async load(): Promise<Map<string, { size: number; usedAt: number }>> {
    if (this.index) return this.index;
    this.index = new Map();
    for (const shard of await readdir(this.root).catch(() => [] as string[])) {
      for (const name of await readdir(join(this.root, shard)).catch(() => [] as string[])) {
        if (name.endsWith('.tmp')) continue;
        const path = join(this.root, shard, name);
        const st = await stat(path).catch(() => undefined);
        if (!st?.isFile()) continue;
        this.index.set(path, { size: st.size, usedAt: st.atimeMs });
        this.total += st.size;
      }
    }
    return this.index;
  }
}

let shared: LocalFileCache | undefined;

/**
 * The process's cache of remote objects: `$LAKELET_CACHE_DIR` (default <tmp>/lakelet-cache),
 * bounded by `$LAKELET_CACHE_MAX_BYTES` (default 2 GiB).
 */
export function remoteObjectCache(): LocalFileCache {
  if (!shared) {
    const max = Number(process.env.LAKELET_CACHE_MAX_BYTES ?? 2 * 1024 ** 3);
    shared = new LocalFileCache('remote-objects', process.env.LAKELET_CACHE_DIR ?? join(tmpdir(), 'lakelet-cache'), Number.isFinite(max) && max > 0 ? max : 2 * 1024 ** 3);
  }
  return shared;
}
