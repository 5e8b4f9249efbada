import { createHash } from 'node:crypto';
import { mkdir, stat, writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ObjectStore } from '../../adapters/storage/object-store.ts';

/**
 * DuckDB reads local files only (httpfs is not built into the npm package, and lakelet must run
 * offline). A local store hands out its own paths; a remote store's objects are copied once into a
 * content-addressed cache (keyed by store URI + key + size: Delta data files are immutable).
 */
export async function localFileFor(store: ObjectStore, key: string, size?: number): Promise<string> {
  const direct = store.localPath(key);
  if (direct !== undefined) return direct;
  const root = process.env.LAKELET_CACHE_DIR ?? join(tmpdir(), 'lakelet-cache');
  const digest = createHash('sha256').update(`${store.uri}\0${key}\0${size ?? ''}`).digest('hex');
  const target = join(root, digest.slice(0, 2), digest + '.' + (key.split('.').pop() ?? 'bin'));
  const existing = await stat(target).catch(() => undefined);
  if (existing && (size === undefined || existing.size === size)) return target;
  const bytes = await store.get(key);
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, target);
  return target;
}
