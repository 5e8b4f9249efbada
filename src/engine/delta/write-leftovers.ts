import { lstat, mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writerGone } from '../../adapters/process-alive.ts';
import type { ObjectStore } from '../../adapters/storage/object-store.ts';

/**
 * What a writer killed half-way (SIGKILL, power cut) leaves in a table's folder: the store's
 * `.lakelet-tmp-<pid>-*` files (a commit, checkpoint or data file not yet linked or renamed into
 * place, in `_delta_log/` or beside the data) and the data writer's `.lakelet-staging/<pid>-<id>/`
 * folders (a DuckDB COPY not yet moved into the table). No reader takes them for table files; they
 * would only pile up. They are removed once clearly abandoned: their writer's pid is no longer a
 * process on this host, or nothing in them changed for a long while (pids are reused). A live
 * writer's are never touched. Delta's own log files never carry these names.
 */

/** Abandoned after this long without a change even when the pid in the name is alive (pids are reused). */
export const LEFTOVER_MIN_AGE_MS = 60 * 60 * 1000;

const STAGING = '.lakelet-staging';

/** A staging folder whose writer's pid is alive is kept this long unchanged (see removeAbandonedStaging). */
const LIVE_STAGING_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

export interface LeftoverOptions {
  /** Default: Date.now(). */
  now?: number;
  /** Age past which a leftover goes whatever its pid says. Default: LEFTOVER_MIN_AGE_MS. */
  olderThanMs?: number;
  /** List what would be removed, remove nothing. */
  dryRun?: boolean;
}

/**
 * Creates a write's local staging folder: `.lakelet-staging/<pid>-<id>` in the table's folder (on
 * the same disk, so its files are renamed into place), or under the machine's temp folder for a
 * remote table. Named with the pid: a later run tells a killed writer's folder from a live one's.
 *
 * Another writer of the table removes the shared parent when it leaves it empty
 * (removeStagingFolder); a `mkdir -p` that meets that removal half-way fails (ENOENT, or ENOTDIR
 * when the parent it found is gone by the time it is checked), and is simply made again. Seen in
 * the concurrency test, four processes merging into one table (a merge failed with ENOTDIR).
 */
export async function makeStagingFolder(store: ObjectStore, id: string): Promise<string> {
  const dir = join(stagingRoot(store), `${process.pid}-${id}`);
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(dir, { recursive: true });
      return dir;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || attempt >= 5) throw err;
    }
  }
}

/** Removes a staging folder, and the shared parent when that leaves it empty (no empty folder stays in the table). */
export async function removeStagingFolder(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await rmdir(dirname(dir)).catch(() => {});
}

function stagingRoot(store: ObjectStore): string {
  return store.localPath(STAGING) ?? join(tmpdir(), 'lakelet-staging');
}

/** Removes the abandoned leftovers of killed writers of this table; returns their absolute paths. */
export async function removeWriteLeftovers(store: ObjectStore, options: LeftoverOptions = {}): Promise<string[]> {
  const now = options.now ?? Date.now();
  const olderThanMs = options.olderThanMs ?? LEFTOVER_MIN_AGE_MS;
  const temp = (await store.removeStaleTemp?.({ now, olderThanMs, ...(options.dryRun ? { dryRun: true } : {}) })) ?? [];
  return [...temp, ...(await removeAbandonedStaging(stagingRoot(store), now, olderThanMs, options.dryRun ?? false))];
}

async function removeAbandonedStaging(root: string, now: number, olderThanMs: number, dryRun: boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const dir = join(root, name);
    // `<pid>-<uuid>`; folders named before the pid was part of the name (a bare uuid, whose first
    // group may be all digits too, but always eight of them) go by age alone.
    const pid = Number(/^(\d{1,7})-[0-9a-f]{8}-/.exec(name)?.[1] ?? NaN);
    const changed = await newestChange(dir);
    if (changed === undefined) continue; // its writer just finished with it
    const gone = writerGone(pid);
    // A live writer's folder may sit unchanged for long (a sorted COPY writes nothing until its
    // sort is done): with its pid alive, only an age no write reaches counts (the pid was reused).
    const maxAge = Number.isInteger(pid) ? Math.max(olderThanMs, LIVE_STAGING_MAX_AGE_MS) : olderThanMs;
    if (!gone && now - changed < maxAge) continue;
    if (!dryRun) await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  // The staging root itself once empty (a writer starting meanwhile makes it again: mkdir -p).
  if (!dryRun) await rmdir(root).catch(() => {});
  return removed;
}

/** The latest modification time of a path and everything under it (a COPY in progress keeps it fresh); undefined when gone. */
async function newestChange(path: string): Promise<number | undefined> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return undefined;
  }
  let newest = st.mtimeMs;
  if (st.isDirectory()) {
    for (const name of await readdir(path).catch(() => [] as string[])) {
      newest = Math.max(newest, (await newestChange(join(path, name))) ?? 0);
    }
  }
  return newest;
}
