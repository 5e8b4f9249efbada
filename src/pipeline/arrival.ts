import { existsSync } from 'node:fs';
import picomatch from 'picomatch';
import { localFolderOf } from '../adapters/storage/location.ts';
import type { ObjectMeta, ObjectStore } from '../adapters/storage/object-store.ts';
import type { ArrivalPolicy, PipelineConfig } from './config.ts';
import { inTurns } from './in-turns.ts';
import { firstInvalidUtf8 } from './text-check.ts';

/**
 * When a landed file may be read. A file is taken only when the writer is evidently done with it:
 *
 *   - its name is not a writer's temporary name (`arrival.ignore`, hidden names): the
 *     write-then-rename convention makes a file appear complete, under its final name, at once;
 *   - the completion marker exists, when one is configured (`_SUCCESS` in its folder, or
 *     `<name>.done` beside it);
 *   - its size and mtime have not changed for `arrival.stable` (a young file is watched for the
 *     rest of the window, then compared again);
 *   - a text file ends with a complete record: a final newline (CSV, NDJSON), the closing bracket
 *     of a JSON document, the `PAR1` footer of a Parquet file. A writer that paused mid-row leaves
 *     a cut-off last record that would otherwise be parsed as a shorter value (`…,2023-09-23`).
 *     (Unless the file's start is already not UTF-8: it is taken, to be rejected for its encoding.)
 *
 * Files that fail a check wait for a later run; the reason is logged. A file that stays incomplete
 * for `arrival.incompleteTimeout` is quarantined (its writer most likely died), never parsed.
 */
export const SUCCESS_MARKER = '_SUCCESS';
export const DONE_SUFFIX = '.done';

export interface WaitingFile {
  key: string;
  reason: string;
}

export interface ArrivalCheck {
  ready: ObjectMeta[];
  waiting: WaitingFile[];
  /** Still incomplete after the timeout: to quarantine, with the reason. */
  abandoned: { file: ObjectMeta; reason: string }[];
}

/**
 * What a landed key is to the pipeline: `data` (it matches the pattern and is no temporary, hidden
 * or marker name), `unmatched` (an ordinary file the pattern leaves out: maybe data under another
 * name, which a user should hear about), or `other` (a temporary, hidden or marker name: expected).
 */
type LandedKind = 'data' | 'unmatched' | 'other';

function landedKind(pipeline: PipelineConfig): (key: string) => LandedKind {
  const match = picomatch(pipeline.pattern, { dot: false });
  const ignored = picomatch(pipeline.arrival.ignore, { dot: true, basename: true });
  return (key) => {
    if (ignored(key)) return 'other';
    const parts = key.split('/');
    if (parts.some((s) => s.startsWith('.'))) return 'other';
    const base = parts[parts.length - 1];
    if (base === SUCCESS_MARKER || (pipeline.arrival.marker === 'done' && base.endsWith(DONE_SUFFIX))) return 'other';
    return match(key) ? 'data' : 'unmatched';
  };
}

/**
 * A listing of the landing, sorted once: the data files the pipeline takes, the files the pattern
 * leaves out (maybe data under another name), and whether a local landing folder is missing (an
 * empty listing then likely means a typo in `landing:`). The runner warns about the last two,
 * `lakelet status` shows them.
 */
export interface LandingListing {
  data: ObjectMeta[];
  unmatched: string[];
  folderMissing: boolean;
}

export function sortLanding(pipeline: PipelineConfig, store: ObjectStore, files: ObjectMeta[]): LandingListing {
  const kind = landedKind(pipeline);
  const data: ObjectMeta[] = [];
  const unmatched: string[] = [];
  for (const f of files) {
    const k = kind(f.key);
    if (k === 'data') data.push(f);
    else if (k === 'unmatched') unmatched.push(f.key);
  }
  const folder = files.length === 0 ? localFolderOf(store.uri) : undefined;
  return { data, unmatched, folderMissing: folder !== undefined && !existsSync(folder) };
}

/** Whether a landed key is data of the pipeline at all (pattern, hidden, temporary names, markers). */
export function dataFileFilter(pipeline: PipelineConfig): (key: string) => boolean {
  const kind = landedKind(pipeline);
  return (key) => kind(key) === 'data';
}

/** Why an unmatched file (see landedKind) is not taken, and what to do if it is data. */
export function unmatchedHint(pipeline: PipelineConfig, key: string): string {
  if (picomatch(pipeline.pattern, { dot: false, nocase: true })(key)) {
    return `it matches pattern '${pipeline.pattern}' only when case is ignored, and patterns are case-sensitive: rename it, or widen pattern: in lakelet.yml (e.g. "*.{csv,CSV}")`;
  }
  return `it does not match pattern '${pipeline.pattern}': if it is data for this pipeline, rename it or widen pattern: in lakelet.yml; it is left where it is`;
}

/** The marker a file waits for, if any. */
export function markerOf(policy: ArrivalPolicy, key: string): string | undefined {
  if (policy.marker === 'done') return key + DONE_SUFFIX;
  if (policy.marker === 'success') {
    const slash = key.lastIndexOf('/');
    return slash < 0 ? SUCCESS_MARKER : `${key.slice(0, slash)}/${SUCCESS_MARKER}`;
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sorts candidates into ready and waiting. File times come from the file system's clock, so they
 * are compared with the wall clock (`now`), not the pipeline's injected clock.
 */
export async function checkArrival(
  store: ObjectStore,
  pipeline: PipelineConfig,
  candidates: ObjectMeta[],
  options: {
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
    /**
     * The candidates are finalized objects (a Cloud Storage finalize event reported them): an object
     * never changes once written, so there is no stability window to wait out, and a cut-off last
     * record will never be completed (a new upload is a new object with its own event): it is
     * quarantined now rather than left waiting for a run that no event would start.
     */
    finalized?: boolean;
  } = {},
): Promise<ArrivalCheck> {
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  const policy = pipeline.arrival;
  const out: ArrivalCheck = { ready: [], waiting: [], abandoned: [] };

  let current: ObjectMeta[] = [];
  for (const c of candidates) {
    const marker = markerOf(policy, c.key);
    if (marker && !(await store.head(marker))) {
      out.waiting.push({ key: c.key, reason: `waiting for its completion marker ${marker}` });
      continue;
    }
    current.push(c);
  }

  // Young files: watch them for the rest of the window once (one wait for the whole batch).
  const youngest = options.finalized ? 0 : Math.max(0, ...current.map((c) => policy.stableMs - (now() - c.lastModified)));
  if (youngest > 0) {
    await wait(Math.min(youngest, policy.stableMs));
    const again: ObjectMeta[] = [];
    for (const c of current) {
      const head = await store.head(c.key);
      if (!head) continue; // gone meanwhile
      if (head.size !== c.size || head.lastModified !== c.lastModified) {
        out.waiting.push({ key: c.key, reason: `still being written (size ${c.size} → ${head.size} bytes within ${policy.stableMs} ms)` });
        continue;
      }
      again.push(head);
    }
    current = again;
  }

  // Each file's tail is read on its own, so a few are read at once (1,000 small files read in
  // turn cost ~150 ms of round trips); the verdicts are taken in the candidates' order.
  const problems = policy.requireCompleteRecord ? await inTurns(current, TAILS_AT_ONCE, (c) => lastRecordProblem(store, pipeline.format, c)) : [];
  for (const [i, c] of current.entries()) {
    const incomplete = problems[i];
    if (!incomplete) {
      out.ready.push(c);
      continue;
    }
    if (options.finalized) {
      out.abandoned.push({ file: c, reason: `${incomplete}, and the object is finalized (a Cloud Storage object never grows): it was uploaded cut off` });
    } else if (now() - c.lastModified >= policy.incompleteTimeoutMs) {
      out.abandoned.push({ file: c, reason: `${incomplete}, and the file has not changed for ${Math.round((now() - c.lastModified) / 1000)} s (arrival.incompleteTimeout): its writer probably stopped midway` });
    } else {
      out.waiting.push({ key: c.key, reason: `${incomplete}: waiting for the writer to finish it` });
    }
  }
  return out;
}

const TAILS_AT_ONCE = 8;

/** Why the file's last record is incomplete, or undefined when it ends as a complete file does. */
export async function lastRecordProblem(store: ObjectStore, format: PipelineConfig['format'], file: ObjectMeta): Promise<string | undefined> {
  if (file.size === 0) return undefined; // empty: rejected as empty, nothing to wait for
  if (format === 'parquet') {
    if (file.size < 12) return 'the Parquet file is shorter than its header and footer';
    const tail = await store.getRange(file.key, file.size - 4, 4);
    if (new TextDecoder().decode(tail) === 'PAR1') return undefined;
    // A writer puts PAR1 first: a start that is written and is something else (a CSV named
    // .parquet) never becomes a Parquet file, so it is taken now, to be rejected by the read.
    const start = await store.getRange(file.key, 0, 4);
    return start.some((b) => b !== 0) && new TextDecoder().decode(start) !== 'PAR1' ? undefined : 'the Parquet file has no footer yet (no trailing PAR1)';
  }
  const n = Math.min(file.size, 4096);
  const tail = await store.getRange(file.key, file.size - n, n);
  const problem = textEndProblem(format, tail);
  if (!problem) return undefined;
  // A head that is already not UTF-8 (a binary file, a latin-1 export without a final newline, a
  // UTF-16 export without a byte-order mark) or not the start of a JSON document of records never
  // becomes loadable, however the writer finishes: taken now, so the read rejects it at once
  // instead of it waiting out arrival.incompleteTimeout under a misleading reason.
  // (NUL bytes alone are not enough: a preallocating copy reads as zeros until it is written.)
  const head = file.size <= n ? tail : await store.getRange(file.key, 0, n);
  return notUtf8(head) || looksUtf16(head) || (format === 'json' && notJsonStart(head)) ? undefined : problem;
}

/**
 * UTF-16 text without a byte-order mark: in its first 64 bytes, every other byte is NUL (ASCII
 * characters' high bytes), at even offsets (big-endian) or at odd ones (little-endian), and the
 * others are not. Zeros alone (a preallocated file) are not that.
 */
function looksUtf16(head: Uint8Array): boolean {
  const n = Math.min(head.length, 64) & ~1;
  if (n < 4) return false;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i++) if (head[i] === 0) (i % 2 === 0 ? evenNul++ : oddNul++);
  const half = n / 2;
  return (evenNul === half && oddNul === 0) || (oddNul === half && evenNul === 0);
}

/** A written start (past whitespace and a UTF-8 byte-order mark) that is no `[` or `{`: no document of records. */
function notJsonStart(head: Uint8Array): boolean {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && isSpace(head[i])) i++;
  if (i >= head.length || head[i] === 0) return false;
  return head[i] !== 0x5b && head[i] !== 0x7b;
}

/** Why a text file's last bytes (`tail`) are not the end of a complete file, if they are not. */
function textEndProblem(format: PipelineConfig['format'], tail: Uint8Array): string | undefined {
  if (format === 'json') {
    let i = tail.length - 1;
    while (i >= 0 && isSpace(tail[i])) i--;
    if (i < 0) return undefined; // whitespace only: rejected as empty
    return tail[i] === 0x7d || tail[i] === 0x5d ? undefined : 'the JSON document has no closing bracket yet';
  }
  // CSV and NDJSON: one record per line, the last one ends with a newline: LF, or a CR (a file
  // with classic Mac line ends; in a CRLF file, the record before a CR is complete too).
  // (A UTF-16 file ends in 0a 00 or 00 0a: complete too; it is then rejected for its encoding.)
  const last = tail[tail.length - 1];
  const utf16Newline = tail.length >= 2 && last === 0x00 && tail[tail.length - 2] === 0x0a;
  return last === 0x0a || last === 0x0d || utf16Newline ? undefined : 'the last record has no final newline';
}

/** Whether the start of a file holds a sequence UTF-8 never has (or a UTF-16 byte-order mark). */
export function notUtf8(bytes: Uint8Array): boolean {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) return true;
  const at = firstInvalidUtf8(bytes);
  if (at === bytes.length) return false;
  // A character cut by the end of what was read (the 4 KiB read, or the file where its writer
  // paused mid-character) is not an error: a lead byte followed only by continuation bytes.
  const need = bytes[at] >= 0xf0 ? 3 : bytes[at] >= 0xe0 ? 2 : bytes[at] >= 0xc2 ? 1 : 0;
  const rest = bytes.subarray(at + 1);
  const cut = need > 0 && bytes[at] <= 0xf4 && rest.length < need && rest.every((b) => (b & 0xc0) === 0x80);
  return !cut;
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/**
 * The completion markers that belong to files which have left the landing folder: a `<name>.done`
 * goes with its file; a folder's `_SUCCESS` goes once no data file is left in that folder. Both
 * land beside the files in the batch's archive folder, create-only like the files themselves.
 */
export async function markersToArchive(store: ObjectStore, pipeline: PipelineConfig, keys: string[]): Promise<string[]> {
  if (pipeline.arrival.marker === 'none') return [];
  const out = new Set<string>();
  if (pipeline.arrival.marker === 'done') {
    for (const key of keys) {
      if (!(await store.head(key)) && (await store.head(key + DONE_SUFFIX))) out.add(key + DONE_SUFFIX);
    }
    return [...out];
  }
  const isData = dataFileFilter(pipeline);
  for (const key of keys) {
    const marker = markerOf(pipeline.arrival, key)!;
    if (out.has(marker) || !(await store.head(marker))) continue;
    const folder = marker.slice(0, marker.length - SUCCESS_MARKER.length);
    const left = (await store.list(folder)).filter((f) => !f.key.slice(folder.length).includes('/') && isData(f.key));
    if (left.length === 0) out.add(marker);
  }
  return [...out];
}
