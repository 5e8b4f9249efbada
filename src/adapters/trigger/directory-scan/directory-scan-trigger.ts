import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileArrival, FileTrigger } from '../file-trigger.ts';

/**
 * File arrival by listing folders: `scanOnce` for backfills, or polling every `intervalMs`, where a
 * file is reported once its size and mtime were the same on two consecutive scans (so a file still
 * being written waits).
 */
export class DirectoryScanTrigger implements FileTrigger {
  private timer: NodeJS.Timeout | undefined;
  private seen = new Map<string, string>();
  private reported = new Map<string, string>();
  private closed = false;

  constructor(private readonly dirs: string[], private readonly intervalMs = 1000) {}

  /** Every file under the folders now, hidden and temporary names excluded. */
  async scanOnce(): Promise<FileArrival[]> {
    const out: FileArrival[] = [];
    for (const dir of this.dirs) await walk(dir, '', out, dir);
    return out;
  }

  async start(onReady: (files: FileArrival[]) => void): Promise<void> {
    const tick = async () => {
      if (this.closed) return;
      try {
        const now = await this.scanOnce();
        const ready: FileArrival[] = [];
        const next = new Map<string, string>();
        for (const f of now) {
          const id = `${f.dir}\0${f.key}`;
          const sig = `${f.size}:${f.lastModified}`;
          next.set(id, sig);
          if (this.seen.get(id) === sig && this.reported.get(id) !== sig) {
            ready.push(f);
            this.reported.set(id, sig);
          }
        }
        for (const id of this.reported.keys()) if (!next.has(id)) this.reported.delete(id);
        this.seen = next;
        if (ready.length) onReady(ready);
      } finally {
        if (!this.closed) this.timer = setTimeout(tick, this.intervalMs);
      }
    };
    await tick();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

async function walk(root: string, prefix: string, out: FileArrival[], dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(join(root, prefix), { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const key = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) await walk(root, key, out, dir);
    else if (e.isFile()) {
      try {
        const st = await stat(join(root, key));
        out.push({ dir, key, size: st.size, lastModified: Math.floor(st.mtimeMs) });
      } catch {
        // removed meanwhile
      }
    }
  }
}
