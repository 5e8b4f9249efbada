import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The Spark-written golden tables, used in place from ../shared (never copied into the repo). */
export const GOLDEN_ROOT = resolve(process.cwd(), '../shared/conformance/golden');

export interface GoldenCase {
  name: string;
  expect: 'rows' | 'rows-lenient' | 'loads' | 'error';
  why?: string;
}

export function goldenCases(): GoldenCase[] {
  const manifestPath = resolve(GOLDEN_ROOT, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new Error(`conformance corpus not found at ${GOLDEN_ROOT}: the repository expects ../shared beside it`);
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { cases: Record<string, Omit<GoldenCase, 'name'>> };
  return Object.entries(manifest.cases).map(([name, c]) => ({ name, ...c }));
}

/**
 * Canonical form of a value for comparing rows "by value": timestamps as epoch microseconds
 * (whatever zone suffix or precision the engine prints), decimals without trailing zeros, numbers
 * as strings, nested values recursively with object keys sorted.
 */
export function canonicalValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map(canonicalValue);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) out[k] = canonicalValue((v as Record<string, unknown>)[k]);
    return out;
  }
  if (typeof v === 'number' || typeof v === 'bigint') return canonicalNumber(String(v));
  if (typeof v === 'boolean') return v;
  const s = String(v);
  const ts = /^(\d{4,}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d(:?\d\d)?)?$/.exec(s);
  if (ts) {
    const frac = (ts[3] ?? '.0').slice(1).padEnd(6, '0').slice(0, 6);
    const zone = ts[4] === undefined || ts[4] === 'Z' ? 'Z' : ts[4].length === 3 ? ts[4] + ':00' : ts[4];
    const ms = Date.parse(`${ts[1]}T${ts[2]}${zone}`);
    if (!Number.isNaN(ms)) return `ts:${BigInt(ms) * 1000n + BigInt(frac.slice(3))}:${frac.slice(0, 3)}`;
  }
  if (/^-?\d+(\.\d+)?$/.test(s)) return canonicalNumber(s);
  return s;
}

function canonicalNumber(s: string): string {
  if (!s.includes('.')) return s === '-0' ? '0' : s;
  const trimmed = s.replace(/0+$/, '').replace(/\.$/, '');
  return trimmed === '-0' ? '0' : trimmed;
}

export function canonicalRows(rows: Record<string, unknown>[], options: { dropColumns?: Set<string> } = {}): string[] {
  return rows
    .map((row) => {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(row).sort()) {
        if (options.dropColumns?.has(k)) continue;
        o[k] = canonicalValue(row[k]);
      }
      return JSON.stringify(o);
    })
    .sort();
}
