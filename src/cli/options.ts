import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import type { DeltaTable } from '../engine/table.ts';
import { InputError } from '../engine/errors.ts';
import { inContext } from './errors.ts';

/** Option value parsers shared by the commands; a bad value is a usage error (exit 2). */
export function nonNegativeInteger(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a whole number (0 or more).');
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('the number is too large.');
  return n;
}

/** A TCP port to listen on: 0 (any free one) to 65535. */
export function portNumber(value: string): number {
  const n = nonNegativeInteger(value);
  if (n > 65535) throw new InvalidArgumentError('expected a port number from 0 (any free port) to 65535.');
  return n;
}

export function positiveInteger(value: string): number {
  const n = nonNegativeInteger(value);
  if (n === 0) throw new InvalidArgumentError('expected a number of 1 or more.');
  return n;
}

/** "a, b,c" → ["a", "b", "c"]. */
export function commaList(value: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new InvalidArgumentError('expected one or more comma-separated names.');
  return items;
}

/**
 * Collects repeatable `--property key=value` options into one object (a later key wins). The value
 * may contain '='; the key may not be empty.
 */
export function propertyOption(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  const key = at < 0 ? '' : value.slice(0, at).trim();
  if (!key) throw new InvalidArgumentError(`expected key=value, e.g. delta.enableChangeDataFeed=true (got '${value}').`);
  return { ...previous, [key]: value.slice(at + 1).trim() };
}

/**
 * Opens the table at `location` for the length of `fn` and closes it after; errors that are not
 * already user-facing get the table's location in their message.
 */
export async function withTable<T>(location: string, fn: (table: DeltaTable) => Promise<T>): Promise<T> {
  let table: DeltaTable | undefined;
  try {
    // Loaded here, not at the top: every command imports these option parsers, and the table
    // (with DuckDB's client) is more than `lakelet read`'s direct path needs.
    const { DeltaTable } = await import('../engine/table.ts');
    // A warning (a checkpoint not written after the commit) says so on stderr; the command still succeeds.
    table = await DeltaTable.forPath(location, { onWarning: (message) => process.stderr.write(`lakelet: warning: ${message}\n`) });
    return await fn(table);
  } catch (err) {
    throw inContext(location, err);
  } finally {
    table?.close();
  }
}

/** Prints a JSON document (pretty, newline-terminated). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function isoTime(ms: number | undefined): string | null {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return null;
  return new Date(ms).toISOString();
}

/** A location with a scheme (gs://, file://), as opposed to a local path. */
export function isUri(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location);
}

/**
 * A data file to load (`--from`), as an absolute local path. Files are read by DuckDB from local
 * disk only (its httpfs extension is not bundled and extensions are never downloaded), so a gs://
 * file is refused here rather than misread as a relative path named "gs:".
 */
export function localDataFile(from: string): string {
  if (!isUri(from)) return resolve(from);
  if (/^file:\/\//i.test(from)) return fileURLToPath(from);
  throw remoteDataFileError(from);
}

export function remoteDataFileError(from: string): InputError {
  return new InputError(
    `${from}: data files are read from local paths only (DuckDB's httpfs is not bundled); copy the file to local disk first, or give a Delta table.`,
  );
}
