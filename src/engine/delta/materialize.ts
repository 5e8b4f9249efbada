import type { ObjectStore } from '../../adapters/storage/object-store.ts';
import { remoteObjectCache } from '../../adapters/storage/local-cache.ts';

/**
 * DuckDB reads local files only. A local store hands out its own paths; a remote store's objects
 * are copied into the bounded local cache of remote objects (adapters/storage/local-cache.ts).
 */
export async function localFileFor(store: ObjectStore, key: string, size?: number): Promise<string> {
  return store.localPath(key) ?? remoteObjectCache().fileFor(store, key, size);
}
