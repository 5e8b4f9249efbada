import { join } from 'node:path';

/** A location with a scheme (gs://bucket/x, file:///x), as opposed to a local path. */
export function isUriLocation(location: string): boolean {
  return /^[a-z][a-z0-9+.-]+:\/\//i.test(location);
}

/**
 * `name` inside a folder given as a local path or a URI. path.join would fold `gs://b/x` into the
 * local relative path `gs:/b/x`.
 */
export function childLocation(location: string, ...names: string[]): string {
  return isUriLocation(location) ? [location.replace(/\/+$/, ''), ...names].join('/') : join(location, ...names);
}

/**
 * The folder on this machine a store's URI names (`file:///x` → `/x`); undefined for a bucket. A
 * local store writes its URI as `file://` + the absolute path, not percent-encoded, so this is the
 * inverse of that, not a URL parse.
 */
export function localFolderOf(storeUri: string): string | undefined {
  return storeUri.startsWith('file://') ? storeUri.slice('file://'.length) : undefined;
}
