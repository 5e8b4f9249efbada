import { realpath, readFile, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, sep } from 'node:path';
import { UiRequestError } from './errors.ts';

/**
 * The front end's files, served from one folder and nothing outside it. A request path is decoded
 * once, then refused if any segment is empty, `.` or `..`, or holds a backslash or NUL (so an
 * encoded `..%2f` cannot climb out either), and the file's real path (symlinks resolved) must
 * still be inside the folder's real path.
 */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.ico': 'image/x-icon',
};

export interface StaticFile {
  body: Buffer;
  type: string;
}

/** The file under `root` that `urlPath` (as the request line gave it, still percent-encoded) names. */
export async function staticFile(root: string, urlPath: string): Promise<StaticFile> {
  const rel = safeRelativePath(urlPath);
  const rootReal = await realpath(root);
  const path = join(rootReal, ...rel);
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw new UiRequestError(404, `no such page: ${urlPath}`);
  }
  if (!inside(rootReal, real)) throw new UiRequestError(404, `no such page: ${urlPath}`);
  const info = await stat(real);
  if (!info.isFile()) throw new UiRequestError(404, `no such page: ${urlPath}`);
  return { body: await readFile(real), type: TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream' };
}

/** `/pages/a.js` → ['pages', 'a.js']; anything that could leave the folder is a 404. */
export function safeRelativePath(urlPath: string): string[] {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    throw new UiRequestError(400, `malformed path: ${urlPath}`);
  }
  const segments = decoded.replace(/^\/+/, '').split('/');
  const bad = segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0') || isAbsolute(s) || /^[a-z]:/i.test(s));
  if (bad) throw new UiRequestError(404, `no such page: ${urlPath}`);
  return segments;
}

/** Whether `path` is `dir` itself or below it (both already real paths). */
export function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}
