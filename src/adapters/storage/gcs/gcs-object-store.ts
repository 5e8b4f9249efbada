import { randomUUID } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import type { Bucket, File, Storage } from '@google-cloud/storage';
import { LakeletError } from '../../../errors/lakelet-error.ts';
import { DEFAULT_RETRY, withRetry, type AttemptInfo, type RetryPolicy } from '../../retry.ts';
import { assertRange, InvalidObjectKeyError, ObjectNotFoundError, type DeleteOptions, type ListOptions, type ObjectMeta, type ObjectStore } from '../object-store.ts';
import { httpStatus, toGcsError } from './gcs-error.ts';

export interface GcsObjectStoreOptions {
  /** A client built by gcs-client.ts (its own retries switched off: this store retries). */
  storage: Storage;
  bucket: string;
  /** The folder inside the bucket that is this store's root ('' for the whole bucket), without slashes at either end. */
  prefix: string;
  /** Where requests go, for messages only (the client knows it already). */
  endpoint: string;
  retry?: RetryPolicy;
  /** Objects per listing request (GCS allows up to 1000, its default). Smaller only in tests. */
  listPageSize?: number;
}

/** Custom metadata naming the putIfAbsent call that created an object, so a retry can recognise its own earlier success. */
const WRITER_TOKEN = 'lakelet-writer';

/** GCS object names are at most 1024 bytes of UTF-8. */
const MAX_NAME_BYTES = 1024;

/**
 * An ObjectStore on a Google Cloud Storage bucket (or a folder of one), through the official client.
 * A key maps to the object `<prefix>/<key>` byte for byte.
 *
 * - `putIfAbsent` is an upload with `ifGenerationMatch: 0`: GCS creates the object only when no live
 *   generation exists, atomically across every writer, and answers 412 otherwise (= false).
 * - `list` pages through the bucket listing with `prefix` and `startOffset` (the Delta log is listed
 *   from a version on); GCS lists names in UTF-8 byte order, which is the contract's order.
 * - Reads of a part of an object (Parquet footers) are ranged downloads.
 * - Every request is retried by adapters/retry.ts on transient failures only (429, 408, 5xx, reset,
 *   timeout), never on 412 or 404; the client's own retries are off (gcs-client.ts) so none is
 *   retried twice over.
 * - `ObjectMeta.generation` is the object's generation, its identity on GCS: a re-upload under the
 *   same name gets a new one.
 */
export class GcsObjectStore implements ObjectStore {
  readonly uri: string;
  readonly bucketName: string;
  readonly prefix: string;
  private readonly bucket: Bucket;
  private readonly retry: RetryPolicy;
  private readonly endpoint: string;
  private readonly listPageSize: number;

  constructor(options: GcsObjectStoreOptions) {
    this.bucketName = options.bucket;
    this.prefix = options.prefix.replace(/^\/+|\/+$/g, '');
    this.uri = `gs://${this.bucketName}${this.prefix ? `/${this.prefix}` : ''}`;
    this.bucket = options.storage.bucket(options.bucket);
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.endpoint = options.endpoint;
    this.listPageSize = options.listPageSize ?? 1000;
  }

  localPath(): undefined {
    return undefined;
  }

  async get(key: string): Promise<Uint8Array> {
    const file = this.file(key);
    return this.call('read', file, async () => {
      try {
        const [buf] = await file.download();
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (err) {
        throw this.notFoundOr(err, file);
      }
    });
  }

  async getRange(key: string, start: number, length: number): Promise<Uint8Array> {
    assertRange(key, start, length);
    const file = this.file(key);
    // An empty range needs no bytes, only the answer "does it exist" (a missing key still rejects).
    if (length === 0) {
      if ((await this.head(key)) === undefined) throw new ObjectNotFoundError(this.objectUri(file));
      return new Uint8Array(0);
    }
    return this.call('read', file, async () => {
      try {
        // `end` is inclusive; ranged downloads are not checksummed (the hash covers the whole object).
        const [buf] = await file.download({ start, end: start + length - 1, validation: false });
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (err) {
        // 416: the range starts at or past the end. The contract gives what exists there: nothing.
        if (httpStatus(err) === 416) return new Uint8Array(0);
        throw this.notFoundOr(err, file);
      }
    });
  }

  async head(key: string): Promise<ObjectMeta | undefined> {
    const file = this.file(key);
    return this.call('head', file, async () => {
      try {
        const [metadata] = await file.getMetadata();
        return this.meta(key, metadata);
      } catch (err) {
        if (httpStatus(err) === 404) return undefined;
        throw err;
      }
    });
  }

  async list(prefix: string, options?: ListOptions): Promise<ObjectMeta[]> {
    const root = this.prefix ? `${this.prefix}/` : '';
    const out: ObjectMeta[] = [];
    let pageToken: string | undefined;
    do {
      // One request per page, each retried on its own: a page that failed is asked for again with
      // the same token, never the whole listing from the start.
      const page = await this.call('list', `${this.uri}/${prefix}`, async () => {
        const [files, next] = await this.bucket.getFiles({
          prefix: root + prefix,
          ...(options?.startAt !== undefined ? { startOffset: root + options.startAt } : {}),
          ...(options?.endBefore !== undefined ? { endOffset: root + options.endBefore } : {}),
          maxResults: this.listPageSize,
          autoPaginate: false,
          ...(pageToken !== undefined ? { pageToken } : {}),
        });
        return { files, next: (next as { pageToken?: string } | null | undefined)?.pageToken };
      });
      for (const f of page.files) out.push(this.meta(f.name.slice(root.length), f.metadata));
      pageToken = page.next;
    } while (pageToken);
    // GCS already lists in byte order; sorting again keeps the contract if a page boundary or an
    // emulator ever disagrees.
    return out.sort((a, b) => Buffer.compare(Buffer.from(a.key, 'utf8'), Buffer.from(b.key, 'utf8')));
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const file = this.file(key);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await this.call('write', file, async () => {
      await file.save(bytes, { resumable: false });
    });
  }

  async putIfAbsent(key: string, data: Uint8Array | string): Promise<boolean> {
    const file = this.file(key);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const token = randomUUID();
    return this.call('write', file, async ({ attempt }: AttemptInfo) => {
      try {
        await file.save(bytes, {
          resumable: false,
          preconditionOpts: { ifGenerationMatch: 0 },
          metadata: { metadata: { [WRITER_TOKEN]: token } },
        });
        return true;
      } catch (err) {
        if (httpStatus(err) !== 412) throw err;
        // Taken. On a retry it may be taken by *this* call: the earlier try reached GCS and only its
        // answer was lost (a reset connection). Our token on the object says so; anything else lost.
        if (attempt > 1) {
          const [metadata] = await file.getMetadata();
          return (metadata.metadata as Record<string, unknown> | undefined)?.[WRITER_TOKEN] === token;
        }
        return false;
      }
    });
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const file = this.file(key);
    await this.call('write', file, async () => {
      // A single request streams the file from disk; no resumable session state on the machine.
      await this.bucket.upload(localPath, { destination: file, resumable: false });
    });
    await unlink(localPath);
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<boolean> {
    const file = this.file(key);
    return this.call('delete', file, async () => {
      try {
        // A retried delete whose first try went through finds nothing: still done.
        await file.delete({ ignoreNotFound: true, ...(options.ifGeneration !== undefined ? { ifGenerationMatch: options.ifGeneration } : {}) });
        return true;
      } catch (err) {
        // 412: the live object is another generation (re-uploaded since it was seen): not ours to delete.
        if (options.ifGeneration !== undefined && httpStatus(err) === 412) return false;
        throw err;
      }
    });
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    const from = this.file(fromKey);
    const to = this.file(toKey);
    await this.call('copy', from, async () => {
      try {
        await from.copy(to);
      } catch (err) {
        throw this.notFoundOr(err, from);
      }
    });
  }

  async copyFromIfAbsent(source: ObjectStore, fromKey: string, toKey: string, options: { ifGeneration?: string } = {}): Promise<boolean | undefined> {
    if (!(source instanceof GcsObjectStore)) return undefined;
    const from = source.file(fromKey);
    const read = options.ifGeneration !== undefined ? source.bucket.file(from.name, { generation: options.ifGeneration }) : from;
    const to = this.file(toKey);
    return this.call('copy', from, async () => {
      try {
        // A rewrite inside GCS; ifGenerationMatch 0: only when nothing is at the destination.
        await read.copy(to, { preconditionOpts: { ifGenerationMatch: 0 } });
        return true;
      } catch (err) {
        if (httpStatus(err) === 412) return false;
        throw source.notFoundOr(err, from);
      }
    });
  }

  private file(key: string): File {
    validateKey(key);
    const name = this.prefix ? `${this.prefix}/${key}` : key;
    if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
      throw new InvalidObjectKeyError(key, `the object name ${this.prefix ? `under ${this.prefix}/ ` : ''}is longer than ${MAX_NAME_BYTES} bytes, the GCS limit`);
    }
    return this.bucket.file(name);
  }

  private objectUri(file: File): string {
    return `gs://${this.bucketName}/${file.name}`;
  }

  private meta(key: string, metadata: { size?: string | number; updated?: string; generation?: string | number; md5Hash?: string }): ObjectMeta {
    return {
      key,
      size: Number(metadata.size ?? 0),
      lastModified: metadata.updated ? Date.parse(metadata.updated) : 0,
      ...(metadata.generation !== undefined ? { generation: String(metadata.generation) } : {}),
      ...(metadata.md5Hash ? { md5: Buffer.from(metadata.md5Hash, 'base64').toString('hex') } : {}),
    };
  }

  private notFoundOr(err: unknown, file: File): unknown {
    return httpStatus(err) === 404 ? new ObjectNotFoundError(this.objectUri(file)) : err;
  }

  /** Runs one request with retries; the client's errors become GcsErrors (transient or not) first. */
  private call<T>(operation: string, target: File | string, fn: (info: AttemptInfo) => Promise<T>): Promise<T> {
    const where = typeof target === 'string' ? target : this.objectUri(target);
    return withRetry(this.retry, async (info) => {
      try {
        return await fn(info);
      } catch (err) {
        if (err instanceof LakeletError) throw err;
        throw toGcsError(err, operation, where, this.endpoint);
      }
    });
  }
}

/** The keys the contract allows (see object-store.ts), limited to what GCS can name. */
function validateKey(key: string): void {
  if (key === '') throw new InvalidObjectKeyError(key, 'empty');
  if (key.startsWith('/')) throw new InvalidObjectKeyError(key, 'keys are relative to the store root and never start with /');
  if (/[\r\n]/.test(key)) throw new InvalidObjectKeyError(key, 'GCS object names cannot contain carriage returns or line feeds');
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new InvalidObjectKeyError(key, 'empty, "." and ".." path segments are not allowed (they would alias another key on a local store)');
    }
  }
}
