import { readFile } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { openStore } from '../adapters/storage/open-store.ts';

/**
 * Uploads locally written files to a remote folder (gs://bucket/prefix), one after the other in
 * the order given (the order of arrival a landing sees), each under its path relative to `root`.
 * An object appears whole when its upload finishes, so no temporary name is needed, as
 * `gcloud storage cp` does it.
 */
export async function uploadFiles(paths: string[], root: string, location: string): Promise<string[]> {
  const store = openStore(location);
  const keys: string[] = [];
  for (const path of paths) {
    const key = relative(root, path).split(sep).join('/');
    await store.put(key, await readFile(path));
    keys.push(key);
  }
  return keys;
}
