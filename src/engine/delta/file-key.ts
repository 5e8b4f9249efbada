import type { DeletionVectorDescriptor } from './actions.ts';
import { deletionVectorUniqueId } from './deletion-vector.ts';

/**
 * The identity of a file in log replay: its canonical path plus its deletion vector. Writers are
 * allowed to spell one path differently in add and remove (`/a/b` vs `file:/a/b`, percent-encoded
 * or not), so paths are compared after URI decoding and scheme normalisation.
 */
export function canonicalPath(path: string): string {
  let p = path;
  // One character compare first: a relative path (nearly every add) skips both prefix tests.
  if (p.charCodeAt(0) === 0x66 /* f */) {
    if (p.startsWith('file://')) p = p.slice('file://'.length);
    else if (p.startsWith('file:')) p = p.slice('file:'.length);
  }
  // Most paths hold no escape: no decode (replaying a 10,000-file checkpoint keys every add).
  if (!p.includes('%')) return p;
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

export function fileKey(path: string, dv?: DeletionVectorDescriptor | null): string {
  // Without a DV the key is the path itself (no new string per file: a 10,000-file snapshot keys
  // every add); with one, NUL then the DV's id, which no path can contain.
  return dv ? `${canonicalPath(path)}\u0000${deletionVectorUniqueId(dv)}` : canonicalPath(path);
}
