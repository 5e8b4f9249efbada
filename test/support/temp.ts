import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temp directory, removed by the returned cleanup. */
export function tempDir(prefix = 'lakelet-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The local directory of a table opened on a LocalObjectStore (its uri is `file://` + root). */
export function dirOf(table: { uri: string }): string {
  if (!table.uri.startsWith('file://')) throw new Error(`not a local table: ${table.uri}`);
  return table.uri.slice('file://'.length);
}
