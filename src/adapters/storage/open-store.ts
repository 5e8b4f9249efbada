import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ObjectStore } from './object-store.ts';
import { LocalObjectStore } from './local/local-object-store.ts';
import { openGcsStore } from './gcs/open-gcs-store.ts';
import { InputError } from '../../errors/lakelet-error.ts';

/** Picks the ObjectStore for a location: a local path, a file:// URI, or gs://bucket/folder (Cloud Storage). */
export function openStore(location: string): ObjectStore {
  if (location.startsWith('file://')) return new LocalObjectStore(fileURLToPath(location));
  if (/^gs:\/\//i.test(location)) return openGcsStore(location);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new InputError(`${location}: the storage scheme '${location.split(':')[0]}' is not supported; use a local path, file:// or gs://.`);
  }
  return new LocalObjectStore(resolve(location));
}
