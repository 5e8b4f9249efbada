/**
 * Path rules of Delta tables.
 *
 * Two different encodings meet in a data file's path:
 *
 * 1. Hive-style partition directories (`col=value/`) escape the column name and the value the way
 *    Spark's `ExternalCatalogUtils.escapePathName` does: a fixed set of ASCII characters becomes
 *    `%XX` (uppercase hex). The result is the real directory name on storage, so a timestamp value
 *    `2021-09-08 11:11:11` lives in the directory `as_timestamp=2021-09-08 11%3A11%3A11`.
 *
 * 2. `add.path` / `remove.path` in the log is a URI reference (RFC 2396/3986): relative to the
 *    table root unless it has a scheme or starts with `/`. Its percent-escapes must be decoded to get
 *    the storage key, so the directory above appears in the log as
 *    `as_timestamp=2021-09-08%2011%253A11%253A11` (space → %20, the directory's own `%` → %25).
 *
 * Storage keys (what an ObjectStore takes) are always the decoded form.
 */
import { InputError } from '../errors.ts';

/** The directory value Spark/Hive use for a null partition value. */
export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

/**
 * Characters Spark escapes in partition directory names (ExternalCatalogUtils.charToEscape, non
 * Windows): U+0001..U+001F, `"`, `#`, `%`, `'`, `*`, `/`, `:`, `=`, `?`, `\`, U+007F, `{`, `[`,
 * `]`, `^`. Spark leaves `}` and U+0000 alone; lakelet also escapes U+0000 (as `%00`), since no
 * filesystem or object store accepts NUL in a name and unescaping gives the same value back.
 */
const PARTITION_ESCAPES: ReadonlySet<number> = new Set([
  ...Array.from({ length: 0x20 }, (_, i) => i),
  ...[...'"#%\'*/:=?\\{[]^'].map((c) => c.charCodeAt(0)),
  0x7f,
]);

const HEX = '0123456789ABCDEF';

function pct(byte: number): string {
  return '%' + HEX[byte >> 4] + HEX[byte & 15];
}

/** Escapes a partition column name or value for use in a `col=value` directory name. */
export function escapePartitionValue(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += PARTITION_ESCAPES.has(c) ? pct(c) : s[i];
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/**
 * Reverses escapePartitionValue, as Spark's `unescapePathName` does: every `%XX` with two hex
 * digits becomes the character U+00XX; a `%` not followed by two hex digits stays as it is.
 */
export function unescapePartitionValue(s: string): string {
  if (!s.includes('%')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && i + 2 < s.length) {
      const hi = hexValue(s.charCodeAt(i + 1));
      const lo = hexValue(s.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out += String.fromCharCode(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

/**
 * The Hive-style directory for one partition, e.g. `a=1/b=x%2Fy`, without a trailing slash.
 * Null, undefined and the empty string all map to `__HIVE_DEFAULT_PARTITION__` (Spark writes an
 * empty string partition value as null).
 */
export function partitionDirectory(
  partitionColumns: readonly string[],
  values: Readonly<Record<string, string | null | undefined>>,
): string {
  return partitionColumns
    .map((col) => {
      const v = values[col];
      const dirValue = v === null || v === undefined || v === '' ? HIVE_DEFAULT_PARTITION : escapePartitionValue(v);
      return `${escapePartitionValue(col)}=${dirValue}`;
    })
    .join('/');
}

/**
 * Characters kept as they are in an encoded add.path: RFC 3986 unreserved, sub-delims, `:` `@`,
 * and `/` as the separator. Everything else (space, `%`, `#`, `?`, `[`, `]`, `"`, `<`, `>`, `\`,
 * `^`, backquote, `{`, `|`, `}`, controls, and every non-ASCII character as UTF-8 bytes) is
 * percent-encoded with uppercase hex.
 */
const URI_PATH_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;

/**
 * Encodes a storage key relative to the table root as an `add.path` URI reference. A `:` in the
 * first segment is escaped too, so the path is never mistaken for one with a scheme.
 */
export function encodeAddPath(relativePath: string): string {
  const bytes = new TextEncoder();
  let out = '';
  let firstSegment = true;
  for (const ch of relativePath) {
    if (ch === '/') firstSegment = false;
    if (ch.length === 1 && URI_PATH_SAFE.test(ch) && !(ch === ':' && firstSegment)) {
      out += ch;
    } else {
      for (const b of bytes.encode(ch)) out += pct(b);
    }
  }
  return out;
}

/**
 * Decodes the percent-escapes of an `add.path` (UTF-8), giving the storage key for a relative
 * path. `+` is a plus sign, not a space. A `%` not followed by two hex digits is kept literally
 * (lenient, like delta-rs), and invalid UTF-8 becomes U+FFFD.
 */
export function decodeAddPath(path: string): string {
  if (!path.includes('%')) return path;
  const encoder = new TextEncoder();
  const bytes: number[] = [];
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25 && i + 2 < path.length) {
      const hi = hexValue(path.charCodeAt(i + 1));
      const lo = hexValue(path.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        bytes.push(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    if (c < 0x80) {
      bytes.push(c);
    } else {
      // Copy a whole code point (a surrogate pair is two UTF-16 units).
      const cp = path.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      for (const b of encoder.encode(ch)) bytes.push(b);
      i += ch.length - 1;
    }
  }
  return new TextDecoder('utf-8').decode(Uint8Array.from(bytes));
}

/**
 * Where an add/remove path points.
 * - `relative`: a storage key under the table root (decoded, normalised; absolute URIs that point
 *   inside the table are turned into relative keys too, so `file:/t/x` and `x` are the same file).
 * - `absolute`: outside the table root. `uri` is `scheme://authority/path` with the path decoded
 *   (the same human-readable form as `ObjectStore.uri`), so different spellings of one location
 *   (`/a b`, `file:/a%20b`, `file:///a%20b`) give one `uri`. `localPath` is set for `file` URIs.
 */
export type ResolvedAddPath = { kind: 'relative'; key: string } | { kind: 'absolute'; uri: string; localPath?: string };

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

interface SplitUri {
  scheme: string;
  authority: string;
  /** Path segments, normalised (no empty, `.` or `..` segments). */
  segments: string[];
}

/** Applies `.` and `..` segments (`..` at `/` stays at `/`) and drops empty ones, appending to `into`. */
function normalise(segments: readonly string[], into: string[] = []): { segments: string[] } {
  for (const seg of segments) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') into.pop();
    else into.push(seg);
  }
  return { segments: into };
}

/**
 * Splits `scheme:[//authority]path`; a string without a scheme is a local path. `decode` says
 * whether the path is percent-encoded (an add.path) or already plain (an ObjectStore.uri).
 */
function splitUri(uri: string, decode: boolean): SplitUri {
  let scheme = 'file';
  let rest = uri;
  const m = SCHEME.exec(uri);
  if (m) {
    scheme = m[1].toLowerCase();
    rest = uri.slice(m[0].length);
  }
  let authority = '';
  if (rest.startsWith('//')) {
    const end = rest.indexOf('/', 2);
    authority = end < 0 ? rest.slice(2) : rest.slice(2, end);
    rest = end < 0 ? '' : rest.slice(end);
  }
  if (scheme === 'file' && authority.toLowerCase() === 'localhost') authority = '';
  const path = decode ? decodeAddPath(rest) : rest;
  return { scheme, authority, segments: normalise(path.split('/')).segments };
}

function startsWith(segments: readonly string[], prefix: readonly string[]): boolean {
  if (segments.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (segments[i] !== prefix[i]) return false;
  return true;
}

/** True when the add path has a scheme or starts with `/` (it is not relative to the table root). */
export function isAbsoluteAddPath(path: string): boolean {
  return path.startsWith('/') || SCHEME.test(path);
}

/**
 * Resolves an `add.path` (or `remove.path`, or a DV's absolute path) against the table.
 * `tableUri` is the table's `ObjectStore.uri` (`file:///data/t`, `gs://bucket/t`; plain, not
 * percent-encoded). A scheme-less absolute path (`/x/y`) is on the table's own filesystem.
 */
export function resolveAddPath(tableUri: string, path: string): ResolvedAddPath {
  const table = splitUri(tableUri, false);
  let target: SplitUri;
  if (SCHEME.test(path)) {
    target = splitUri(path, true);
  } else if (path.startsWith('/')) {
    target = { scheme: table.scheme, authority: table.authority, segments: normalise(decodeAddPath(path).split('/')).segments };
  } else {
    // `..` may climb out of the table (then the path is absolute); above `/` it stays at `/`.
    const { segments } = normalise(decodeAddPath(path).split('/'), [...table.segments]);
    target = { scheme: table.scheme, authority: table.authority, segments };
  }

  if (target.scheme === table.scheme && target.authority === table.authority && startsWith(target.segments, table.segments)) {
    const key = target.segments.slice(table.segments.length).join('/');
    if (key === '') throw new InputError(`${tableUri}: the file path ${JSON.stringify(path)} names the table directory itself, not a file.`);
    return { kind: 'relative', key };
  }
  const joined = '/' + target.segments.join('/');
  const uri = `${target.scheme}://${target.authority}${joined}`;
  return target.scheme === 'file' ? { kind: 'absolute', uri, localPath: joined } : { kind: 'absolute', uri };
}
