import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Every file under `dir` (recursively) with its size and mtime; an absent dir is empty. */
export function listFiles(dir: string): Map<string, { size: number; mtimeMs: number }> {
  const out = new Map<string, { size: number; mtimeMs: number }>();
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const s = statSync(p);
        out.set(relative(dir, p), { size: s.size, mtimeMs: s.mtimeMs });
      }
    }
  };
  walk(dir);
  return out;
}

/** Bytes of files that are new or changed in `after` compared to `before`. */
export function bytesWritten(before: Map<string, { size: number; mtimeMs: number }>, after: Map<string, { size: number; mtimeMs: number }>): number {
  let total = 0;
  for (const [path, f] of after) {
    const b = before.get(path);
    if (!b || b.size !== f.size || b.mtimeMs !== f.mtimeMs) total += f.size;
  }
  return total;
}

export function totalBytes(dir: string): number {
  let total = 0;
  for (const f of listFiles(dir).values()) total += f.size;
  return total;
}
