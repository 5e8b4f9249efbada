import { relative, sep } from 'node:path';
import type { Stats } from 'node:fs';
import { watch, type FSWatcher } from 'chokidar';
import type { FileArrival, FileTrigger } from '../file-trigger.ts';

export interface ChokidarTriggerOptions {
  /** A file counts as written when its size has not changed for this long (ms). Default 500. */
  stableMs?: number;
  /** How often a growing file's size is checked (ms). Default 100. */
  pollMs?: number;
  /** Arrivals within this window are reported together (one batch). Default 200 ms. */
  burstMs?: number;
  /** Use polling instead of native events (network filesystems). */
  usePolling?: boolean;
}

/** File arrival by filesystem events (chokidar), with awaitWriteFinish so half-written files wait. */
export class ChokidarTrigger implements FileTrigger {
  private watcher: FSWatcher | undefined;
  private pending: FileArrival[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly dirs: string[], private readonly options: ChokidarTriggerOptions = {}) {}

  async start(onReady: (files: FileArrival[]) => void): Promise<void> {
    const flush = () => {
      this.timer = undefined;
      const files = this.pending.splice(0);
      if (files.length) onReady(files);
    };
    const watcher = watch(this.dirs, {
      ignoreInitial: false,
      persistent: true,
      alwaysStat: true,
      usePolling: this.options.usePolling ?? false,
      awaitWriteFinish: { stabilityThreshold: this.options.stableMs ?? 500, pollInterval: this.options.pollMs ?? 100 },
      ignored: (path: string) => path.split(sep).some((part) => part.startsWith('.lakelet-tmp-')),
    });
    const onFile = (path: string, stats?: Stats) => {
      const dir = this.dirs.find((d) => path === d || path.startsWith(d + sep));
      if (!dir || !stats?.isFile()) return;
      this.pending.push({ dir, key: relative(dir, path).split(sep).join('/'), size: stats.size, lastModified: Math.floor(stats.mtimeMs) });
      if (!this.timer) this.timer = setTimeout(flush, this.options.burstMs ?? 200);
    };
    watcher.on('add', onFile);
    watcher.on('change', onFile);
    await new Promise<void>((resolve, reject) => {
      watcher.once('ready', () => resolve());
      watcher.once('error', reject);
    });
    this.watcher = watcher;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.watcher?.close();
    this.watcher = undefined;
  }
}
