import { createHash } from 'node:crypto';
import type { ObjectMeta, ObjectStore } from '../adapters/storage/object-store.ts';
import { PipelineStateError } from './errors.ts';

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Whether `data` is the content a manifest identified as `expected`: its sha256, or for a file the
 * warehouse loaded straight from the store (direct-load.ts) the listing's `md5:<hex>` (a `gen:`
 * identity names a generation, which `head` checks; the bytes cannot).
 */
const isListingIdentity = (id: string) => id.startsWith('md5:') || id.startsWith('gen:');

/** The object as listed now is the content a listing identity named. */
function listingMatches(head: ObjectMeta, expected: string): boolean {
  return expected.startsWith('md5:') ? head.md5 !== undefined && `md5:${head.md5}` === expected : head.generation === expected.slice(4);
}

function sameContent(data: Uint8Array, expected: string, head?: ObjectMeta): boolean {
  if (expected.startsWith('md5:')) return `md5:${createHash('md5').update(data).digest('hex')}` === expected;
  if (expected.startsWith('gen:')) return head?.generation === expected.slice(4);
  return sha256(data) === expected;
}

/** `<yyyy>/<mm>/<dd>/<yyyymmddThhmmssSSSZ>-<id>` in UTC: a batch's folder under archive/ and quarantine/. */
export function batchFolder(now: number, id: string): string {
  const iso = new Date(now).toISOString(); // 2024-05-01T12:34:56.789Z
  const [y, m, d] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10)];
  const stamp = iso.replace(/[-:]/g, '').replace('.', '');
  return `${y}/${m}/${d}/${stamp}-${id}`;
}

export type MoveResult = 'moved' | 'copied' | 'already-moved' | 'missing' | 'changed';

/** What the batch saw of a file when it hashed it: a source still like this holds those bytes. */
export interface PlannedFile {
  size: number;
  /** ms since the epoch, as the store reported it. */
  mtime: number;
}

/**
 * Moves a landed file to `to/toKey` exactly once, never overwriting: create-only at the
 * destination (an existing destination must hold the same bytes: a move a crash interrupted),
 * then delete the source. A source whose bytes changed since the batch was planned is left alone
 * (a new delivery under the same name; the next batch takes it), and so is one re-uploaded between
 * the copy and the delete, on stores with generations ('copied'). `keepSource` copies instead.
 *
 * With `planned` (the size and mtime the batch saw when it hashed the file) and both stores on a
 * local disk, a source that still has that size and mtime is linked into place without being read
 * again (rsync's rule); any difference falls back to reading and hashing it.
 */
export async function moveOnce(
  from: ObjectStore,
  key: string,
  to: ObjectStore,
  toKey: string,
  expectedSha: string,
  pipeline: string,
  options: { keepSource?: boolean; planned?: PlannedFile } = {},
): Promise<MoveResult> {
  const head = await from.head(key);
  if (!head) return (await to.head(toKey)) ? 'already-moved' : 'missing';
  const local = from.localPath(key);
  const unchanged = options.planned !== undefined && head.size === options.planned.size && head.lastModified === options.planned.mtime;
  let created: boolean | undefined;
  const listed = isListingIdentity(expectedSha);
  if (unchanged && local !== undefined && to.linkIfAbsent) {
    created = await to.linkIfAbsent(toKey, local);
  } else if (listed && to.copyFromIfAbsent) {
    // A file planned by its listing (too big to read here): checked and copied without its bytes.
    if (!listingMatches(head, expectedSha)) return (await to.head(toKey)) ? 'already-moved' : 'changed';
    created = await to.copyFromIfAbsent(from, key, toKey, head.generation !== undefined ? { ifGeneration: head.generation } : {});
  }
  if (created === undefined) {
    const data = await from.get(key);
    if (!sameContent(data, expectedSha, head)) {
      if (await to.head(toKey)) return 'already-moved';
      return 'changed';
    }
    created = await to.putIfAbsent(toKey, data);
  }
  if (!created) {
    const there = listed && to.copyFromIfAbsent ? await to.head(toKey) : undefined;
    const same = there?.md5 !== undefined && expectedSha.startsWith('md5:') ? `md5:${there.md5}` === expectedSha : sameContent(await to.get(toKey), expectedSha, head);
    if (!same) {
      throw new PipelineStateError(pipeline, `${to.uri}/${toKey} already exists with other content; refusing to overwrite it (the landed file stays in ${from.uri}/${key}).`);
    }
  }
  if (options.keepSource) return 'copied';
  // Only the generation that was checked goes (GCS: ifGenerationMatch). A file re-uploaded under
  // the name since is a new delivery: it stays for the next batch, and this one counts as copied.
  const deleted = await from.delete(key, head.generation !== undefined ? { ifGeneration: head.generation } : {});
  return deleted ? 'moved' : 'copied';
}
