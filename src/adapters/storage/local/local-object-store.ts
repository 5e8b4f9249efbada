import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { asIoError } from '../../io-error.ts';
import { writerGone } from '../../process-alive.ts';
import { assertRange, InvalidObjectKeyError, ObjectNotFoundError, type ListOptions, type ObjectMeta, type ObjectStore } from '../object-store.ts';

/**
 * Temporary files are written next to their destination under this name prefix, so that the final
 * `link`/`rename` stays within one directory (and one filesystem). Listings never show them.
 */
const TEMP_PREFIX = '.lakelet-tmp-';

/** `.lakelet-tmp-<pid>-<uuid>`: the writer's pid lets a later run tell a dead writer's leftover from a live one. */
function tempName(): string {
  return `${TEMP_PREFIX}${process.pid}-${randomUUID()}`;
}

/** A temp file this old is a leftover even if its pid is alive again (pids are reused). */
const STALE_TEMP_MS = 60 * 60 * 1000;


/**
 * An ObjectStore on the local filesystem. A key maps to the file `<rootDir>/<key>` byte for byte:
 * spaces, `%`, `=`, non-ASCII are kept as they are, and `/` separates directories. The root
 * directory is created on first write.
 *
 * Atomicity: `put` writes a temp file and renames it over the destination (readers see the old or
 * the new content, never a torn file); `putIfAbsent` writes a temp file and hard-links it to the
 * destination, which fails with EEXIST when the name is taken, even across processes.
 */
export class LocalObjectStore implements ObjectStore {
  readonly rootDir: string;
  readonly uri: string;

  constructor(rootDir: string) {
    if (!path.isAbsolute(rootDir)) {
      throw new Error(`LocalObjectStore needs an absolute root directory, got ${JSON.stringify(rootDir)}.`);
    }
    this.rootDir = path.resolve(rootDir);
    this.uri = `file://${this.rootDir}`;
  }

  localPath(key: string): string {
    validateKey(key);
    return path.join(this.rootDir, key);
  }

  async get(key: string): Promise<Uint8Array> {
    const file = this.localPath(key);
    try {
      const buf = await fs.readFile(file);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      throw this.notFoundOr(err, file);
    }
  }

  async getRange(key: string, start: number, length: number): Promise<Uint8Array> {
    assertRange(key, start, length);
    const file = this.localPath(key);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (err) {
      throw this.notFoundOr(err, file);
    }
    try {
      const out = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(out, filled, length - filled, start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled === length ? out : out.subarray(0, filled);
    } catch (err) {
      throw this.notFoundOr(err, file);
    } finally {
      await handle.close();
    }
  }

  async head(key: string): Promise<ObjectMeta | undefined> {
    const file = this.localPath(key);
    try {
      const st = await fs.stat(file);
      if (!st.isFile()) return undefined;
      return { key, size: st.size, lastModified: Math.floor(st.mtimeMs) };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw asIoError(err, file, 'read');
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ObjectMeta[]> {
    if (prefix.includes('\u0000')) throw new InvalidObjectKeyError(prefix, 'a prefix cannot contain NUL');
    if (prefix.startsWith('/')) throw new InvalidObjectKeyError(prefix, 'a prefix is relative to the store root');
    const slash = prefix.lastIndexOf('/');
    const dirPart = slash >= 0 ? prefix.slice(0, slash) : '';
    const namePart = prefix.slice(slash + 1);
    if (dirPart !== '') {
      // The directory part must be a valid key path; anything else cannot match a key.
      for (const seg of dirPart.split('/')) {
        if (seg === '' || seg === '.' || seg === '..') return [];
      }
    }
    const out: ObjectMeta[] = [];
    const dirKey = dirPart === '' ? '' : dirPart + '/';
    const startAt = options.startAt !== undefined ? Buffer.from(options.startAt, 'utf8') : undefined;
    const endBefore = options.endBefore !== undefined ? Buffer.from(options.endBefore, 'utf8') : undefined;
    await this.walk(dirKey, namePart, out, startAt, endBefore);
    out.sort((a, b) => Buffer.compare(Buffer.from(a.key, 'utf8'), Buffer.from(b.key, 'utf8')));
    return out;
  }

  /** Collects every file under `dirKey` whose name starts with `namePrefix` (recursing into matching directories). */
  private async walk(dirKey: string, namePrefix: string, out: ObjectMeta[], startAt?: Buffer, endBefore?: Buffer): Promise<void> {
    const dir = dirKey === '' ? this.rootDir : path.join(this.rootDir, dirKey);
    const below = startAt && keyComparer(startAt);
    const past = endBefore && keyComparer(endBefore);
    // Names outside the range are dropped in one synchronous pass, before any stat or promise:
    // a long Delta log listed from its last checkpoint is thousands of names, nearly all below it.
    // A bounded listing reads names only (no file type per entry: a third of the cost of reading
    // 11,000 names) and keeps a name out of range as a file only if, as a folder, it could hold
    // keys in range (all its keys lie in [name/, name0)); what is kept is stat'ed anyway.
    const bounded = below !== undefined || past !== undefined;
    const inRange = (key: string) => !(below && below(key) < 0) && !(past && past(key) >= 0);
    const mayHold = (key: string) => !(below && below(key + '0') <= 0) && !(past && past(key + '/') >= 0);
    const byName = bounded ? nameBounds(dirKey, startAt, endBefore) : undefined;
    const entries: (Dirent | string)[] = bounded ? await namesOf(dir) : await entriesOf(dir);
    const from = byName?.from;
    const wanted = entries.filter((entry) => {
      const name = typeof entry === 'string' ? entry : entry.name;
      // Below the lower bound only a folder whose name starts it can hold keys in range (checked
      // first: nearly every name of a long log is below it).
      if (from !== undefined && name < from && (name.length > from.length || !from.startsWith(name))) return false;
      if (!name.startsWith(namePrefix) || name.startsWith(TEMP_PREFIX)) return false;
      // At or past the upper bound nothing can be in range (a folder's keys sort after its name).
      if (byName) return byName.to === undefined || name < byName.to;
      if (typeof entry === 'string') return inRange(dirKey + name) || mayHold(dirKey + name);
      if (!entry.isFile()) return true;
      return inRange(dirKey + name);
    });
    await Promise.all(
      wanted.map(async (entry) => {
        const name = typeof entry === 'string' ? entry : entry.name;
        const key = dirKey + name;
        const typed = typeof entry !== 'string';
        let isDir = typed && entry.isDirectory();
        let isFile = typed && entry.isFile();
        let size = 0;
        let mtime = 0;
        if (!typed || isFile || entry.isSymbolicLink()) {
          try {
            const st = await fs.stat(path.join(dir, name));
            isDir = st.isDirectory();
            isFile = st.isFile();
            size = st.size;
            mtime = st.mtimeMs;
          } catch (err) {
            if (isMissing(err)) return; // deleted while we listed
            throw asIoError(err, path.join(dir, name), 'list');
          }
        }
        if (isDir) await this.walk(key + '/', '', out, startAt, endBefore);
        else if (isFile && !(below && below(key) < 0) && !(past && past(key) >= 0)) out.push({ key, size, lastModified: Math.floor(mtime) });
      }),
    );
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    await this.putWritten(key, (tmp) => fs.writeFile(tmp, data, { flag: 'wx' }));
  }

  async putIfAbsent(key: string, data: Uint8Array | string): Promise<boolean> {
    const file = this.localPath(key);
    return this.createOnly(file, (dir) => writeTemp(dir, data));
  }

  async linkIfAbsent(key: string, localPath: string): Promise<boolean> {
    const file = this.localPath(key);
    try {
      // The file itself as the new name: no bytes move.
      return await createLink(localPath, file, path.dirname(file));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Another disk (EXDEV) or a filesystem without hard links: a kernel copy, then the same atomic create.
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw asIoError(err, file, 'write');
    }
    return this.createOnly(file, async (dir) => {
      const tmp = path.join(dir, tempName());
      await fs.copyFile(localPath, tmp);
      return tmp;
    });
  }

  /** Atomic create: the bytes go to a temp file, whose link() to the final name wins or finds it taken. */
  private async createOnly(file: string, writeTempIn: (dir: string) => Promise<string>): Promise<boolean> {
    const dir = path.dirname(file);
    try {
      await fs.mkdir(dir, { recursive: true });
      const tmp = await writeTempIn(dir);
      try {
        if (!(await createLink(tmp, file, dir))) return false;
      } finally {
        await unlinkQuietly(tmp);
      }
    } catch (err) {
      throw asIoError(err, file, 'write');
    }
    await syncDir(dir);
    return true;
  }

  async putFile(key: string, localPath: string): Promise<void> {
    try {
      await this.putFileNow(key, localPath);
    } catch (err) {
      throw asIoError(err, this.localPath(key), 'write');
    }
  }

  private async putFileNow(key: string, localPath: string): Promise<void> {
    const file = this.localPath(key);
    const dir = path.dirname(file);
    await fs.mkdir(dir, { recursive: true });
    try {
      // Its bytes on disk before its name is: a data file DuckDB's COPY wrote is closed unflushed,
      // and the commit naming it is flushed, so a power loss could otherwise leave a committed
      // table pointing at an empty or partial file. (Measured here: 0.5 ms for a 100 KB file,
      // 1.5 ms for 2.4 MB, 11 ms for 20 MB; a medium upsert's time did not move beyond noise.)
      await fsyncFile(localPath);
      await fs.rename(localPath, file);
      await syncDir(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    }
    // Different filesystem: copy next to the destination, then rename into place.
    const tmp = path.join(dir, tempName());
    try {
      await fs.copyFile(localPath, tmp, fsConstants.COPYFILE_EXCL);
      await fsyncFile(tmp);
      await fs.rename(tmp, file);
    } catch (err) {
      await unlinkQuietly(tmp);
      throw err;
    }
    await syncDir(dir);
    await fs.unlink(localPath);
  }

  async putWritten(key: string, write: (localPath: string) => Promise<void>): Promise<ObjectMeta> {
    const file = this.localPath(key);
    const dir = path.dirname(file);
    const tmp = path.join(dir, tempName());
    let written: { size: number; mtimeMs: number };
    try {
      await fs.mkdir(dir, { recursive: true });
      try {
        await write(tmp);
        // Flushed before the rename: after a power cut the name holds the whole file or the old one.
        written = await fsyncFile(tmp);
        await fs.rename(tmp, file);
      } catch (err) {
        await unlinkQuietly(tmp);
        throw err;
      }
    } catch (err) {
      throw asIoError(err, file, 'write');
    }
    await syncDir(dir);
    return { key, size: written.size, lastModified: Math.floor(written.mtimeMs) };
  }

  /**
   * Removes temp files a killed writer left behind (a move or write interrupted between writing the
   * temp file and linking it into place): those whose writer process is gone, or older than an
   * hour. A live writer's temp file (its pid alive, recent) is never touched. Returns their paths
   * (with `dryRun`, those it would remove, left in place).
   */
  async removeStaleTemp(options: { now?: number; olderThanMs?: number; dryRun?: boolean } = {}): Promise<string[]> {
    const now = options.now ?? Date.now();
    const maxAge = options.olderThanMs ?? STALE_TEMP_MS;
    const removed: string[] = [];
    const visit = async (dir: string): Promise<void> => {
      for (const e of await entriesOf(dir)) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) {
          await visit(full);
          continue;
        }
        if (!e.name.startsWith(TEMP_PREFIX)) continue;
        const pid = Number(/^\.lakelet-tmp-(\d+)-/.exec(e.name)?.[1] ?? NaN);
        let age: number;
        try {
          age = now - (await fs.stat(full)).mtimeMs;
        } catch {
          continue; // its writer just finished with it
        }
        if (!writerGone(pid) && age < maxAge) continue;
        if (!options.dryRun) await unlinkQuietly(full);
        removed.push(full);
      }
    };
    await visit(this.rootDir);
    return removed;
  }

  /** A local file has no generation: `ifGeneration` is ignored (moveOnce checks size and mtime itself). */
  async delete(key: string): Promise<boolean> {
    const file = this.localPath(key);
    try {
      await fs.unlink(file);
      return true;
    } catch (err) {
      if (isMissing(err)) return true;
      throw asIoError(err, file, 'delete');
    }
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    try {
      await this.copyNow(fromKey, toKey);
    } catch (err) {
      throw asIoError(err, this.localPath(toKey), 'write');
    }
  }

  private async copyNow(fromKey: string, toKey: string): Promise<void> {
    const from = this.localPath(fromKey);
    const to = this.localPath(toKey);
    const dir = path.dirname(to);
    await fs.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, tempName());
    try {
      await fs.copyFile(from, tmp, fsConstants.COPYFILE_EXCL);
    } catch (err) {
      await unlinkQuietly(tmp);
      throw this.notFoundOr(err, from);
    }
    try {
      await fsyncFile(tmp);
      await fs.rename(tmp, to);
    } catch (err) {
      await unlinkQuietly(tmp);
      throw err;
    }
    await syncDir(dir);
  }

  private notFoundOr(err: unknown, file: string): unknown {
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return new ObjectNotFoundError(`file://${file}`);
    return asIoError(err, file, 'read');
  }
}

function validateKey(key: string): void {
  if (typeof key !== 'string' || key === '') throw new InvalidObjectKeyError(String(key), 'a key cannot be empty');
  if (key.includes('\u0000')) throw new InvalidObjectKeyError(key, 'a key cannot contain NUL');
  if (key.startsWith('/')) throw new InvalidObjectKeyError(key, 'a key is relative to the store root and cannot start with "/"');
  const segments = key.split('/');
  for (const seg of segments) {
    if (seg === '') throw new InvalidObjectKeyError(key, 'a key cannot have empty segments ("//" or a trailing "/")');
    if (seg === '.' || seg === '..') throw new InvalidObjectKeyError(key, `a key cannot have "${seg}" segments`);
  }
  if (segments[segments.length - 1].startsWith(TEMP_PREFIX)) {
    throw new InvalidObjectKeyError(key, `names starting with "${TEMP_PREFIX}" are reserved for temporary files`);
  }
}

/** link() creates the name atomically or fails with EEXIST: exactly one writer wins (false: taken). */
async function createLink(existing: string, file: string, dir: string): Promise<boolean> {
  await fs.mkdir(dir, { recursive: true });
  try {
    await fs.link(existing, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Writes `data` to a fresh, uniquely named temp file in `dir`, flushed to disk. Returns its path. */
async function writeTemp(dir: string, data: Uint8Array | string): Promise<string> {
  const tmp = path.join(dir, tempName());
  const handle = await fs.open(tmp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlinkQuietly(tmp);
    throw err;
  }
  await handle.close();
  return tmp;
}

/** Flushes a file to disk; returns its size and modification time. */
async function fsyncFile(file: string): Promise<{ size: number; mtimeMs: number }> {
  const handle = await fs.open(file, 'r+');
  try {
    await handle.sync();
    const { size, mtimeMs } = await handle.stat();
    return { size, mtimeMs };
  } finally {
    await handle.close();
  }
}

/** Makes a new directory entry durable. Best effort: some filesystems refuse fsync on directories. */
async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // ignore
  } finally {
    await handle?.close().catch(() => {});
  }
}

async function unlinkQuietly(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch {
    // already gone
  }
}

/** A folder's entries; none when it does not exist (a store's folders appear with their first object). */
/**
 * Compares keys with `bound` in UTF-8 byte order (object stores' order). Against an ASCII bound —
 * every Delta log bound — JavaScript's own string order is the same (the first differing unit is
 * ASCII on one side, and any non-ASCII unit sorts above it in both), with no buffer per key.
 */
function keyComparer(bound: Buffer): (key: string) => number {
  const text = bound.toString('utf8');
  if (bound.every((b) => b < 0x80)) return (key) => (key < text ? -1 : key > text ? 1 : 0);
  return (key) => Buffer.compare(Buffer.from(key, 'utf8'), bound);
}

/**
 * The bounds of a listing as bounds on the names in folder `dirKey`, when both are ASCII and lie
 * in that folder (a log listed from a version): names then compare as they are, with no key built
 * per name. Undefined otherwise (the caller compares whole keys).
 */
function nameBounds(dirKey: string, startAt?: Buffer, endBefore?: Buffer): { from?: string; to?: string } | undefined {
  const relative = (bound?: Buffer): string | null | undefined => {
    if (!bound) return undefined;
    if (!bound.every((b) => b < 0x80)) return null;
    const text = bound.toString('latin1');
    return text.startsWith(dirKey) ? text.slice(dirKey.length) : null;
  };
  const from = relative(startAt);
  const to = relative(endBefore);
  if (from === null || to === null) return undefined;
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}

async function namesOf(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if (isMissing(err)) return [];
    throw asIoError(err, dir, 'list');
  }
}

async function entriesOf(dir: string): Promise<Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return [];
    throw asIoError(err, dir, 'list');
  }
}
