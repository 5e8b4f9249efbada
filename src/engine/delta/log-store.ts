import { createHash } from 'node:crypto';
import type { ObjectStore } from '../../adapters/storage/object-store.ts';

/**
 * The `_delta_log` of one table, over an ObjectStore rooted at the table directory.
 *
 * File names (PROTOCOL.md, "Delta Log Entries", "Checkpoints", "Log Compaction Files",
 * "Version Checksum File"); n and x, y are versions padded to 20 digits, o and p to 10:
 *   n.json                    commit
 *   n.checkpoint.parquet      classic checkpoint
 *   n.checkpoint.o.p.parquet  part o of a p-part checkpoint (1 <= o <= p)
 *   n.checkpoint.u.json|parquet  V2 (UUID-named) checkpoint
 *   n.crc                     version checksum
 *   x.y.compacted.json        log compaction of commits x..y
 * Everything else in `_delta_log/` (`_last_checkpoint`, `_sidecars/`, `_staged_commits/`, temp
 * files, Hadoop `.crc` siblings) is not a log file.
 */

export const LOG_DIR = '_delta_log/';
export const LAST_CHECKPOINT_KEY = '_delta_log/_last_checkpoint';

export type LogFileKind = 'commit' | 'checkpoint' | 'checkpoint-part' | 'v2-checkpoint' | 'crc' | 'compacted';

export interface LogFile {
  /** The version this file is at (for `compacted`, the first version it covers). */
  version: number;
  kind: LogFileKind;
  key: string;
  size: number;
  lastModified: number;
  /** checkpoint-part: 1-based part number and part count. */
  part?: number;
  parts?: number;
  /** v2-checkpoint: the UUID in the name, and whether the file is JSON or Parquet. */
  uuid?: string;
  format?: 'json' | 'parquet';
  /** compacted: the last version it covers. */
  endVersion?: number;
}

/** The V2 checkpoint descriptor Spark writes into `_last_checkpoint`. */
export interface LastCheckpointV2Info {
  path: string;
  sizeInBytes?: number;
  modificationTime?: number;
  nonFileActions?: unknown[];
  sidecarFiles?: unknown[];
  [field: string]: unknown;
}

/** `_delta_log/_last_checkpoint` (PROTOCOL.md, "Last Checkpoint File Schema"). A hint only. */
export interface LastCheckpoint {
  version: number;
  /** Number of actions in the checkpoint. */
  size?: number;
  /** Number of parts of a multi-part checkpoint. */
  parts?: number;
  sizeInBytes?: number;
  numOfAddFiles?: number;
  checkpointSchema?: unknown;
  tags?: Record<string, string>;
  /** MD5 of the canonicalised JSON; written by writeLastCheckpoint, verified by readLastCheckpoint. */
  checksum?: string;
  v2Checkpoint?: LastCheckpointV2Info;
  [field: string]: unknown;
}

/** A version as the 20-digit, zero-padded name stem. */
export function padVersion(version: number): string {
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new RangeError(`a Delta version must be a non-negative integer, got ${version}`);
  }
  return String(version).padStart(20, '0');
}

const V = '(\\d{20})';
const UUID = '([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})';
const COMMIT = new RegExp(`^${V}\\.json$`);
const CLASSIC = new RegExp(`^${V}\\.checkpoint\\.parquet$`);
const MULTI_PART = new RegExp(`^${V}\\.checkpoint\\.(\\d{10})\\.(\\d{10})\\.parquet$`);
const V2 = new RegExp(`^${V}\\.checkpoint\\.${UUID}\\.(json|parquet)$`);
const CRC = new RegExp(`^${V}\\.crc$`);
const COMPACTED = new RegExp(`^${V}\\.${V}\\.compacted\\.json$`);

function num(digits: string): number | undefined {
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : undefined;
}

export type ParsedLogFileName = Omit<LogFile, 'key' | 'size' | 'lastModified'>;

/** Classifies a file name directly inside `_delta_log/`; undefined for anything that is not a log file. */
export function parseLogFileName(name: string): ParsedLogFileName | undefined {
  let m: RegExpExecArray | null;
  if ((m = COMMIT.exec(name))) {
    const version = num(m[1]);
    return version === undefined ? undefined : { version, kind: 'commit' };
  }
  if ((m = CLASSIC.exec(name))) {
    const version = num(m[1]);
    return version === undefined ? undefined : { version, kind: 'checkpoint' };
  }
  if ((m = MULTI_PART.exec(name))) {
    const version = num(m[1]);
    const part = Number(m[2]);
    const parts = Number(m[3]);
    if (version === undefined || part < 1 || part > parts) return undefined;
    return { version, kind: 'checkpoint-part', part, parts };
  }
  if ((m = V2.exec(name))) {
    const version = num(m[1]);
    return version === undefined ? undefined : { version, kind: 'v2-checkpoint', uuid: m[2], format: m[3] as 'json' | 'parquet' };
  }
  if ((m = CRC.exec(name))) {
    const version = num(m[1]);
    return version === undefined ? undefined : { version, kind: 'crc' };
  }
  if ((m = COMPACTED.exec(name))) {
    const version = num(m[1]);
    const endVersion = num(m[2]);
    if (version === undefined || endVersion === undefined || endVersion < version) return undefined;
    return { version, kind: 'compacted', endVersion };
  }
  return undefined;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export class LogStore {
  constructor(readonly store: ObjectStore) {}

  commitKey(version: number): string {
    return `${LOG_DIR}${padVersion(version)}.json`;
  }

  sidecarKey(name: string): string {
    return `${LOG_DIR}_sidecars/${name}`;
  }

  /** The text of commit `version`. Rejects with ObjectNotFoundError when it does not exist. */
  async readCommit(version: number): Promise<string> {
    const bytes = await this.store.get(this.commitKey(version));
    return new TextDecoder('utf-8').decode(bytes);
  }

  /**
   * Creates commit `version` if no one else has. False means the version is taken (a concurrent
   * writer won): the caller checks for logical conflicts and retries at a later version.
   */
  async writeCommit(version: number, text: string): Promise<boolean> {
    return this.store.putIfAbsent(this.commitKey(version), text);
  }

  /** Every log file at or after `fromVersion`, sorted by version (then name). */
  async listLogFiles(fromVersion = 0): Promise<LogFile[]> {
    return this.listFrom(fromVersion);
  }

  /**
   * The log files at or after `version`, listed from there on (the store skips what is below:
   * GCS by startOffset, the local store before any stat), sorted by version (then name).
   */
  async listFrom(version: number): Promise<LogFile[]> {
    const fromVersion = version;
    // Every log file name starts with a 20-digit version, and every version a safe integer can
    // hold (< 10^16) pads to a leading "0"; this prefix skips _sidecars/ and _last_checkpoint.
    const listed = await this.store.list(`${LOG_DIR}0`, version > 0 ? { startAt: `${LOG_DIR}${padVersion(version)}` } : {});
    const out: LogFile[] = [];
    for (const meta of listed) {
      const name = meta.key.slice(LOG_DIR.length);
      if (name.includes('/')) continue;
      const parsed = parseLogFileName(name);
      if (!parsed || parsed.version < fromVersion) continue;
      out.push({ ...parsed, key: meta.key, size: meta.size, lastModified: meta.lastModified });
    }
    out.sort((a, b) => a.version - b.version || byteOrder(a.key, b.key));
    return out;
  }

  /**
   * The log files of versions `from` up to (not including) `toExclusive`, listed only over that
   * range (the store skips the rest before any stat), sorted by version (then name): time travel
   * to an old version of a long log reads the names around it, not the thousands after it.
   */
  async listRange(from: number, toExclusive: number): Promise<LogFile[]> {
    const listed = await this.store.list(`${LOG_DIR}0`, {
      ...(from > 0 ? { startAt: `${LOG_DIR}${padVersion(from)}` } : {}),
      endBefore: `${LOG_DIR}${padVersion(toExclusive)}`,
    });
    const out: LogFile[] = [];
    for (const meta of listed) {
      const name = meta.key.slice(LOG_DIR.length);
      if (name.includes('/')) continue;
      const parsed = parseLogFileName(name);
      if (!parsed || parsed.version < from || parsed.version >= toExclusive) continue;
      out.push({ ...parsed, key: meta.key, size: meta.size, lastModified: meta.lastModified });
    }
    out.sort((a, b) => a.version - b.version || byteOrder(a.key, b.key));
    return out;
  }

  /** The newest commit version at or after `from` (default: any), or undefined when there is none. */
  async latestVersion(from = 0): Promise<number | undefined> {
    let latest: number | undefined;
    for (const f of await this.listFrom(from)) {
      if (f.kind === 'commit' && (latest === undefined || f.version > latest)) latest = f.version;
    }
    return latest;
  }

  /**
   * `_last_checkpoint`, or undefined when it is missing, unreadable, not valid JSON, lacks a valid
   * version, or fails its checksum. It is a hint for where to start listing; never trust it blindly.
   */
  async readLastCheckpoint(): Promise<LastCheckpoint | undefined> {
    let text: string;
    try {
      text = new TextDecoder('utf-8').decode(await this.store.get(LAST_CHECKPOINT_KEY));
    } catch {
      return undefined;
    }
    return parseLastCheckpoint(text);
  }

  /**
   * Overwrites `_last_checkpoint`, with a fresh checksum. Not flushed to disk: it is only a hint,
   * and a copy a power cut tore fails its checksum (readers then list the whole log).
   */
  async writeLastCheckpoint(info: LastCheckpoint): Promise<void> {
    const { checksum: _ignored, ...rest } = info;
    const withChecksum: LastCheckpoint = { ...rest, checksum: lastCheckpointChecksum(rest) };
    await this.store.put(LAST_CHECKPOINT_KEY, JSON.stringify(withChecksum), { durable: false });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown, min: number): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
}

/** Parses and validates `_last_checkpoint` text; undefined when it cannot be used. */
export function parseLastCheckpoint(text: string): LastCheckpoint | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(parsed)) return undefined;
  if (!isCount(parsed.version, 0)) return undefined;
  if (parsed.size !== undefined && !isCount(parsed.size, 0)) return undefined;
  if (parsed.parts !== undefined && parsed.parts !== null && !isCount(parsed.parts, 1)) return undefined;
  if (parsed.v2Checkpoint !== undefined && parsed.v2Checkpoint !== null) {
    if (!isObject(parsed.v2Checkpoint) || typeof parsed.v2Checkpoint.path !== 'string') return undefined;
  }
  if (typeof parsed.checksum === 'string') {
    let expected: string;
    try {
      expected = lastCheckpointChecksum(parsed);
    } catch {
      return undefined;
    }
    if (expected !== parsed.checksum.toLowerCase()) return undefined;
  }
  return parsed as LastCheckpoint;
}

/**
 * The `_last_checkpoint` checksum (PROTOCOL.md, "JSON checksum"): MD5 of the canonical form, which
 * lists every leaf as `path=value` (names quoted and URL-encoded, array indexes bare, joined by
 * `+`), sorted by the UTF-8 bytes of the path, separated by `,`; the top-level `checksum` is left out.
 */
export function lastCheckpointChecksum(obj: Record<string, unknown>): string {
  const pairs: [string, string][] = [];
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${path}+${i}`));
    } else if (isObject(value)) {
      for (const [k, v] of Object.entries(value)) {
        walk(v, `${path}+"${strictUrlEncode(k)}"`);
      }
    } else if (typeof value === 'string') {
      pairs.push([path, `"${strictUrlEncode(value)}"`]);
    } else if (value === null || typeof value === 'boolean' || typeof value === 'number') {
      pairs.push([path, String(value)]);
    }
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'checksum') continue;
    walk(v, `"${strictUrlEncode(k)}"`);
  }
  pairs.sort((a, b) => byteOrder(a[0], b[0]));
  const canonical = pairs.map(([p, v]) => `${p}=${v}`).join(',');
  return createHash('md5').update(canonical, 'utf8').digest('hex');
}

/** UTF-8 percent-encoding of everything except A-Z a-z 0-9 - . _ ~ (uppercase hex). */
function strictUrlEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}
