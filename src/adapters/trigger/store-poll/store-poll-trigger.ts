import type { ObjectStore } from '../../storage/object-store.ts';
import type { FileArrival, FileTrigger } from '../file-trigger.ts';

/** One landing to poll: the pipeline's landing string (reported as `FileArrival.dir`) and its store. */
export interface PolledLanding {
  dir: string;
  store: ObjectStore;
}

/**
 * File arrival on an object store (a gs:// landing) by polling its listing every `intervalMs`.
 * Object stores have no events a CLI can subscribe to, and an upload in progress is invisible until
 * it is complete, but a name can be uploaded again; so an object is reported once its size and
 * generation (or, on stores without generations, its modification time) were the same on two
 * consecutive listings, and a (key, generation) is never reported twice. Only the listing is read
 * (the store pages it itself): no object body is ever fetched here.
 */
export class StorePollTrigger implements FileTrigger {
  private timer: NodeJS.Timeout | undefined;
  /** Per landing: key -> signature on the last listing. */
  private seen = new Map<string, Map<string, string>>();
  /** Per landing: key -> signature last reported (dropped when the object goes, e.g. archived). */
  private reported = new Map<string, Map<string, string>>();
  private closed = false;

  constructor(
    private readonly landings: PolledLanding[],
    private readonly intervalMs = 1000,
    /** A listing that failed (network, permissions): the landing keeps its last state and is listed again next time. */
    private readonly onError: (dir: string, err: Error) => void = () => {},
  ) {}

  async start(onReady: (files: FileArrival[]) => void): Promise<void> {
    const tick = async () => {
      if (this.closed) return;
      const ready: FileArrival[] = [];
      for (const landing of this.landings) {
        try {
          ready.push(...this.compare(landing.dir, await landing.store.list('')));
        } catch (err) {
          this.onError(landing.dir, err as Error);
        }
      }
      if (ready.length && !this.closed) onReady(ready);
      if (!this.closed) this.timer = setTimeout(() => void tick(), this.intervalMs);
    };
    await tick();
  }

  /** The objects of one listing that are ready now, updating what was seen and reported. */
  private compare(dir: string, listing: { key: string; size: number; lastModified: number; generation?: string }[]): FileArrival[] {
    const seen = this.seen.get(dir) ?? new Map<string, string>();
    const reported = this.reported.get(dir) ?? new Map<string, string>();
    const next = new Map<string, string>();
    const ready: FileArrival[] = [];
    for (const m of listing) {
      // Hidden names (`.lakelet-tmp-*` of an interrupted move, editor files) are not data files.
      if (m.key.split('/').some((part) => part.startsWith('.'))) continue;
      const sig = `${m.size}:${m.generation ?? m.lastModified}`;
      next.set(m.key, sig);
      if (seen.get(m.key) === sig && reported.get(m.key) !== sig) {
        ready.push({ dir, key: m.key, size: m.size, lastModified: m.lastModified });
        reported.set(m.key, sig);
      }
    }
    for (const key of reported.keys()) if (!next.has(key)) reported.delete(key);
    this.seen.set(dir, next);
    this.reported.set(dir, reported);
    return ready;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
