import { LocalObjectStore } from '../../src/adapters/storage/local/local-object-store.ts';
import type { ListOptions, ObjectMeta } from '../../src/adapters/storage/object-store.ts';

/**
 * A real local store that records what it is asked for: the keys read whole (`gets`), the keys read
 * in part (`ranges`: a checkpoint's footer and pages), and each listing's prefix and start. Tests
 * that prove a read or a listing did not happen, or happened once, assert on these; clear them by
 * assigning `[]` or setting `length = 0`.
 */
export class RecordingStore extends LocalObjectStore {
  gets: string[] = [];
  ranges: string[] = [];
  lists: { prefix: string; startAt?: string }[] = [];

  override async get(key: string): Promise<Uint8Array> {
    this.gets.push(key);
    return super.get(key);
  }

  override async getRange(key: string, start: number, length: number): Promise<Uint8Array> {
    this.ranges.push(key);
    return super.getRange(key, start, length);
  }

  override async list(prefix: string, options: ListOptions = {}): Promise<ObjectMeta[]> {
    this.lists.push({ prefix, ...(options.startAt ? { startAt: options.startAt } : {}) });
    return super.list(prefix, options);
  }

  /** Every key read, whole or in part, in the order asked. */
  get reads(): string[] {
    return [...this.gets, ...this.ranges];
  }
}
