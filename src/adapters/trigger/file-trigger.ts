/**
 * The file-arrival seam: something that tells the pipeline which landed files are complete and
 * ready to read. Implementations: `chokidar/` (filesystem events, waiting until a file's size stops
 * changing) and `directory-scan/` (polling; also the one-shot listing used for backfills). A GCS
 * CloudEvent handler would be a third.
 */
export interface FileArrival {
  /** The watched folder (absolute). */
  dir: string;
  /** Path relative to `dir`, '/'-separated. */
  key: string;
  size: number;
  /** ms since the epoch. */
  lastModified: number;
}

export interface FileTrigger {
  /** Starts watching `dirs`; `onReady` receives fully written files, grouped when they come in a burst. */
  start(onReady: (files: FileArrival[]) => void): Promise<void>;
  close(): Promise<void>;
}
