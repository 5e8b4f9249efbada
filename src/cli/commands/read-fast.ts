import type { ReadFormat, ReadOptions } from './read-options.ts';
import { readDirect } from './read-direct.ts';

/**
 * `lakelet read <table> [--format f] [--columns a,b] [--limit n] [--version n]`, recognised without
 * commander (whose load is a tenth of the whole direct read) and handed to the direct path. Only
 * these spellings, each option at most once, with values commander would accept unchanged; any
 * other argument (--help, --where, `--opt=value`, a second table, a bad value) returns false
 * before anything is printed, and the full command line parse runs as always, with its errors.
 */
export async function readFast(argv: string[]): Promise<boolean> {
  const options = plainReadOptions(argv.slice(3));
  if (!options) return false;
  return readDirect(options.location, options.read);
}

const FORMATS: readonly string[] = ['table', 'ndjson', 'csv'];

/** The read options of `args` (after `read`), or undefined when they are not of the plain kind. */
export function plainReadOptions(args: string[]): { location: string; read: ReadOptions } | undefined {
  let location: string | undefined;
  const read: ReadOptions = { format: 'table' };
  const seen = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('-')) {
      if (location !== undefined) return undefined;
      location = arg;
      continue;
    }
    const value = args[i + 1];
    if (seen.has(arg) || value === undefined || value.startsWith('-')) return undefined;
    seen.add(arg);
    i++;
    switch (arg) {
      case '--format':
        if (!FORMATS.includes(value)) return undefined;
        read.format = value as ReadFormat;
        break;
      case '--limit':
      case '--version': {
        // As nonNegativeInteger (options.ts) accepts them: digits, a safe integer.
        if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) return undefined;
        read[arg === '--limit' ? 'limit' : 'version'] = Number(value);
        break;
      }
      case '--columns': {
        // As commaList: trimmed, empty names dropped, at least one.
        const names = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
        if (names.length === 0) return undefined;
        read.columns = names;
        break;
      }
      default:
        return undefined;
    }
  }
  return location === undefined || location === '' ? undefined : { location, read };
}
