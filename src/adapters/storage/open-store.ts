import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ObjectStore } from './object-store.ts';
import { LocalObjectStore } from './local/local-object-store.ts';
import { InputError } from '../../errors/lakelet-error.ts';

/** Picks the ObjectStore for a location: a local path or file:// URI (gs:// arrives with the GCS adapter). */
export function openStore(location: string): ObjectStore {
  if (location.startsWith('file://')) return new LocalObjectStore(fileURLToPath(location));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new InputError(`${location}: the storage scheme '${location.split(':')[0]}' is not supported yet; use a local path.`);
  }
  return new LocalObjectStore(resolve(location));
}
