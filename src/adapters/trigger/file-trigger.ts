/**
 * The file-arrival seam: something that tells the pipeline which landed files are complete and
 * ready to read. Implementations: `chokidar/` (filesystem events, waiting until a file's size stops
 * changing), `directory-scan/` (polling; also the one-shot listing used for backfills) and
 * `store-poll/` (polling an object store's listing, for a gs:// landing). `cloud-function/` is the
 * push side of the same seam: the platform calls a Cloud Function per finalized object, so it is a
 * registered handler rather than a FileTrigger a process starts.
 */
export interface FileArrival {
  /** The watched folder (absolute), or the landing URI as configured (gs://bucket/folder). */
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
