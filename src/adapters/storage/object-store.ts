import { LakeletError } from '../../errors/lakelet-error.ts';

/**
 * The storage seam. Every table operation goes through it; nothing in engine/ touches `fs`.
 * Keys are '/'-separated, relative to the store's root, never starting with '/'. Keys are plain
 * (already decoded) strings: a key may contain spaces, '%', '=', non-ASCII; the implementation
 * maps it to its own medium safely.
 */
export interface ObjectMeta {
  key: string;
  size: number;
  /** Last modification time, ms since the epoch. */
  lastModified: number;
  /**
   * The object's generation on stores that version objects (GCS: a decimal string, new on every
   * upload under the name). It tells a re-uploaded object from the one seen before, for
   * conditional deletes and copies. Absent on the local store.
   */
  generation?: string;
  /** The content's MD5 as the store lists it (GCS `md5Hash`, hex); absent elsewhere and for composite GCS objects. */
  md5?: string;
}

export interface ListOptions {
  /** Only keys >= this one (byte order). */
  startAt?: string;
  /** Only keys < this one (byte order): GCS's endOffset, so time travel lists a Delta log up to a version. */
  endBefore?: string;
}

export interface DeleteOptions {
  /**
   * Delete only this generation (GCS: `ifGenerationMatch`): an object re-uploaded under the key
   * since it was seen is a new delivery and stays. Stores without generations ignore it.
   */
  ifGeneration?: string;
}

export interface ObjectStore {
  /** A human-readable URI of the root, e.g. `file:///data/t` or `gs://bucket/prefix`. */
  readonly uri: string;
  get(key: string): Promise<Uint8Array>;
  getRange(key: string, start: number, length: number): Promise<Uint8Array>;
  /** Undefined when absent. */
  head(key: string): Promise<ObjectMeta | undefined>;
  /**
   * Every object whose key starts with `prefix` (and, with `startAt`, is not below it in byte
   * order: GCS's startOffset, so a Delta log is listed from a version on), sorted by key.
   */
  list(prefix: string, options?: ListOptions): Promise<ObjectMeta[]>;
  put(key: string, data: Uint8Array | string): Promise<void>;
  /** Atomic create. Returns false (no error) when the key already exists. */
  putIfAbsent(key: string, data: Uint8Array | string): Promise<boolean>;
  /**
   * Atomic create from a local file without copying its bytes through memory (a hard link, or a
   * kernel copy across disks); false (no error) when the key already exists. Optional: only stores
   * on a local disk have it.
   */
  linkIfAbsent?(key: string, localPath: string): Promise<boolean>;
  /** Moves a local file into the store (the file is consumed). */
  putFile(key: string, localPath: string): Promise<void>;
  /**
   * Creates or replaces `key` with the file `write` makes at the local path it is handed: a
   * temporary name beside the destination, which listings never show and removeStaleTemp clears
   * after a crash, flushed and renamed into place once `write` is done. Readers see the old object
   * or the whole new one, never a half-written file, and the bytes are written once (no copy
   * through another folder). Returns the new object. Optional: only stores on a local disk have it
   * (elsewhere the caller writes a local file and uploads it with putFile).
   */
  putWritten?(key: string, write: (localPath: string) => Promise<void>): Promise<ObjectMeta>;
  /** False when `ifGeneration` was given and the live object is another generation (left in place); true otherwise, also when nothing was there. */
  delete(key: string, options?: DeleteOptions): Promise<boolean>;
  copy(fromKey: string, toKey: string): Promise<void>;
  /**
   * Copies `fromKey` of `source` (another folder or bucket of the same service) to `toKey` here,
   * server-side and create-only: false when `toKey` exists. With `ifGeneration`, only that generation
   * of the source is read. Undefined: this store cannot copy from that source (then the caller reads
   * and writes the bytes). Optional: GCS has it (a big file is archived without passing through lakelet).
   */
  copyFromIfAbsent?(source: ObjectStore, fromKey: string, toKey: string, options?: { ifGeneration?: string }): Promise<boolean | undefined>;
  /**
   * A local filesystem path where DuckDB can read the object directly, or undefined when the
   * store is remote (the compute layer then materializes it into a local cache).
   */
  localPath(key: string): string | undefined;
  /**
   * Removes temp files that writers killed half-way left behind (never a live writer's); returns
   * what it removed (with `dryRun`: what it would remove, left in place). Optional: stores whose
   * writes are atomic by themselves have none.
   */
  removeStaleTemp?(options?: { now?: number; olderThanMs?: number; dryRun?: boolean }): Promise<string[]>;
}

/** Thrown by get/getRange when the key does not exist. */
export class ObjectNotFoundError extends LakeletError {
  constructor(readonly uri: string) {
    super('OBJECT_NOT_FOUND', `object not found: ${uri}`);
  }
}

/** A key that cannot name an object (empty, absolute, `..`/`.`/empty segments, NUL). */
export class InvalidObjectKeyError extends LakeletError {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super('INVALID_OBJECT_KEY', `invalid object key ${JSON.stringify(key)}: ${reason}`);
  }
}

/** getRange's arguments: a start and a length that are whole, non-negative numbers. */
export function assertRange(key: string, start: number, length: number): void {
  if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`getRange(${JSON.stringify(key)}): start and length must be non-negative integers (got ${start}, ${length}).`);
  }
}
