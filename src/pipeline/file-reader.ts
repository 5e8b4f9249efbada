import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Compute } from '../adapters/compute/compute.ts';
import { sqlString } from '../adapters/compute/sql.ts';
import type { PipelineConfig } from './config.ts';
import { checkCsv } from './csv-check.ts';
import { FileRejectedError, type RejectKind } from './errors.ts';
import { repairJson } from './json-repair.ts';
import { JsonSyntaxError, parseJsonStrict } from './json-text.ts';
import { decodeUtf8 } from './text-check.ts';

/** A landed file DuckDB can read: the SELECT of its raw rows and their inferred columns. */
export interface RawInput {
  /**
   * A DuckDB relation (SELECT …) over the file's records, with their 0-based number in it as
   * `__lakelet_rec` (REC); undefined when the file holds no records.
   */
  sql?: string;
  columns: { name: string; type: string }[];
  records: number;
  /** The JSON repairs applied (json.repair: true), if any. */
  repaired: string[];
  /** Records that could not be read (badRecords other than fail-file); they are not in `sql`. */
  bad: BadRecord[];
  /** The source line of each record of `sql`, by REC (CSV, NDJSON; read again only when asked). */
  lines?: () => Promise<number[]>;
}

/** The column of a RawInput's `sql` numbering its records (0-based, in file order). */
export const REC = '__lakelet_rec';

/** A record of a landed file that cannot be staged as it is: where, why, and its text. */
export interface BadRecord {
  /** 1-based line where the record starts (CSV, NDJSON). */
  line?: number;
  /** 1-based column of the problem in that line, when known. */
  column?: number;
  /** 1-based record number, where lines mean nothing (JSON document, Parquet). */
  record?: number;
  kind: RejectKind;
  error: string;
  /** The record as it came (for a value that does not fit: its values as read, as JSON). */
  text: string;
}

/**
 * Validates one landed file and returns how to read it. Text is checked first (encoding, empty),
 * then the structure (CSV fields per record, JSON syntax with line:column), then DuckDB reads it.
 * JSON documents are normalized into NDJSON in `workDir` (repaired, or narrowed to `json.path`).
 * Throws FileRejectedError for anything that cannot be loaded as it is.
 */
export async function readRaw(
  compute: Compute,
  pipeline: PipelineConfig,
  /**
   * The file's bytes, read once by the caller (who hashed them), and a local path with the same
   * bytes that DuckDB reads: the landing file itself, or a copy of a remote object.
   */
  input: { bytes: Uint8Array; path: string },
  workDir: string,
  workName: string,
  /** The raw columns of an earlier file of the batch: a CSV with the same header is read with them. */
  knownColumns?: { name: string; type: string }[],
): Promise<RawInput> {
  const { bytes, path: file } = input;
  if (pipeline.format === 'parquet') {
    if (bytes.length === 0) throw new FileRejectedError('empty', 'the file is empty (0 bytes)');
    return describe(compute, `SELECT * FROM read_parquet(${sqlString(file)})`, 'parquet');
  }
  const text = decodeUtf8(bytes);
  // Anything but fail-file: a record that cannot be read is a bad record, not a bad file.
  const tolerant = pipeline.badRecords !== 'fail-file';
  if (pipeline.format === 'csv') {
    // The line of each record, collected in the one pass over the text (to place a bad value later).
    const recordLines: number[] = [];
    const { header, records, ragged = [] } = checkCsv(text, pipeline.csv, { tolerant, lines: recordLines });
    let source = file;
    if (ragged.length > 0) {
      // DuckDB (strict_mode) reads a copy without the ragged records; every other byte is kept.
      mkdirSync(workDir, { recursive: true });
      source = join(workDir, `${workName}.csv`);
      const parts: string[] = [];
      let at = 0;
      for (const r of ragged) {
        parts.push(text.slice(at, r.start));
        at = r.end;
      }
      parts.push(text.slice(at));
      writeFileSync(source, parts.join(''));
    }
    const raw = (await readKnownCsv(compute, source, pipeline, header, knownColumns)) ?? (await describe(compute, csvSql(source, pipeline), 'csv'));
    if (raw.records !== records) {
      throw new FileRejectedError('csv', `DuckDB read ${raw.records} records but the file has ${records}; check the csv dialect (delimiter, quote, header)`);
    }
    const bad = ragged.map((r): BadRecord => ({ line: r.line, column: 1, kind: 'csv', error: r.message, text: text.slice(r.start, r.end).replace(/\r?\n$/, '') }));
    return { ...raw, bad, lines: async () => recordLines };
  }
  // JSON and NDJSON: parse here (positions for errors, optional repair, json.path), load as NDJSON.
  const repaired = new Set<string>();
  const bad: BadRecord[] = [];
  // Each document with the line it starts on (NDJSON: one per line; a JSON file is one document).
  let docs: { doc: unknown; line?: number; text?: string }[];
  if (pipeline.format === 'json') {
    docs = [{ doc: parseDocument(text, pipeline.json.repair, repaired, 0) }];
  } else {
    docs = [];
    const lines = text.split('\n');
    for (let n = 0; n < lines.length; n++) {
      if (lines[n].trim() === '') continue;
      try {
        docs.push({ doc: parseDocument(lines[n], pipeline.json.repair, repaired, n), line: n + 1, text: lines[n] });
      } catch (err) {
        if (!tolerant || !(err instanceof FileRejectedError)) throw err;
        bad.push({ line: n + 1, ...(err.position ? { column: err.position.column } : {}), kind: 'json', error: err.detail, text: lines[n].replace(/\r$/, '') });
      }
    }
  }
  const records: Record<string, unknown>[] = [];
  const recordLines: number[] = [];
  for (const { doc, line, text: docText } of docs) {
    const selected = pipeline.json.path ? selectPath(doc, pipeline.json.path) : doc;
    if (selected === undefined || selected === null) continue;
    const items = Array.isArray(selected) ? selected : [selected];
    for (const item of items) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        const error = `expected objects (one per record)${pipeline.json.path ? ` at '${pipeline.json.path}'` : ''}, found ${Array.isArray(item) ? 'an array' : JSON.stringify(item)}`;
        // An NDJSON line is a record of its own; a JSON document's records have no line to point at.
        if (tolerant && line !== undefined) {
          bad.push({ line, kind: 'json', error, text: (docText ?? '').replace(/\r$/, '') });
          continue;
        }
        throw new FileRejectedError('json', error);
      }
      records.push(item as Record<string, unknown>);
      if (line !== undefined) recordLines.push(line);
    }
  }
  if (records.length === 0) return { columns: [], records: 0, repaired: [...repaired], bad };
  mkdirSync(workDir, { recursive: true });
  const normalized = join(workDir, `${workName}.ndjson`);
  writeFileSync(normalized, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const raw = await describe(compute, `SELECT * FROM read_json(${sqlString(normalized)}, format = 'newline_delimited', sample_size = -1)`, 'json');
  return { ...raw, repaired: [...repaired], bad, ...(pipeline.format === 'ndjson' ? { lines: async () => recordLines } : {}) };
}

function parseDocument(text: string, repair: boolean, repaired: Set<string>, lineOffset: number): unknown {
  try {
    return parseJsonStrict(text);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    const position = { line: err.position.line + lineOffset, column: err.position.column };
    const detail = err.message.replace(/ at line \d+, column \d+$/, '');
    let fixed: ReturnType<typeof repairJson> | undefined;
    try {
      fixed = repairJson(text);
    } catch (repairErr) {
      if (repair && repairErr instanceof JsonSyntaxError) {
        throw new FileRejectedError('json', `invalid JSON even after repair: ${repairErr.message.replace(/ at line \d+, column \d+$/, '')}`, {
          line: repairErr.position.line + lineOffset,
          column: repairErr.position.column,
        });
      }
    }
    if (!repair) {
      throw new FileRejectedError('json', `invalid JSON: ${detail}`, position, fixed ? `it looks like Python-style pseudo-JSON that can be repaired: set json.repair: true for this pipeline` : undefined);
    }
    for (const f of fixed!.fixes) repaired.add(f);
    return fixed!.value;
  }
}

/** `a.b.c` into nested objects. */
function selectPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/**
 * Fast path for the common case of many files with one layout: when the header names match an
 * earlier file's, read with that file's column types and no sniffing (DuckDB's sniffer is most of
 * the cost of a small file). A value that does not fit those types fails the read, and the caller
 * falls back to full detection, so drift is still seen exactly as before.
 */
async function readKnownCsv(
  compute: Compute,
  file: string,
  pipeline: PipelineConfig,
  header: string[],
  known: { name: string; type: string }[] | undefined,
): Promise<RawInput | undefined> {
  if (!known || (pipeline.csv.header ?? true) === false || header.length !== known.length) return undefined;
  if (header.some((h, i) => h !== known[i].name)) return undefined;
  const columns = known.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ');
  const sql = csvSql(file, pipeline).replace(/\)$/, `, auto_detect = false, columns = {${columns}})`);
  try {
    return await describe(compute, sql, 'csv');
  } catch {
    return undefined;
  }
}

export function csvSql(file: string, pipeline: PipelineConfig): string {
  const o = pipeline.csv;
  const opts = [
    `delim = ${sqlString(o.delimiter ?? ',')}`,
    `header = ${o.header ?? true}`,
    `quote = ${sqlString(o.quote ?? '"')}`,
    `escape = ${sqlString(o.escape ?? o.quote ?? '"')}`,
    'skip = 0',
    'strict_mode = true',
    'sample_size = -1',
  ];
  if (o.nullString !== undefined) opts.push(`nullstr = ${sqlString(o.nullString)}`);
  if (o.dateFormat !== undefined) opts.push(`dateformat = ${sqlString(o.dateFormat)}`);
  if (o.timestampFormat !== undefined) opts.push(`timestampformat = ${sqlString(o.timestampFormat)}`);
  return `SELECT * FROM read_csv(${sqlString(file)}, ${opts.join(', ')})`;
}

/**
 * Reads the file once into a DuckDB temp table: every later step (counts, cast checks, the batch's
 * stage write) reads that table instead of sniffing and parsing the file again — with hundreds of
 * small files, re-parsing dominated a batch. Tables are dropped by `dropRawInputs` after staging.
 */
async function describe(compute: Compute, sql: string, kind: RejectKind): Promise<RawInput> {
  const table = `__lakelet_raw_${process.pid}_${++rawCounter}`;
  try {
    await compute.run(`CREATE TEMP TABLE ${table} AS ${sql}`);
  } catch (err) {
    throw duckdbReadError(kind, err);
  }
  rawTablesOf(compute).add(table);
  const cols = await compute.query<{ column_name: string; column_type: string }>(`DESCRIBE ${table}`);
  const count = await compute.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${table}`);
  // rowid: the table was filled in file order (insertion order is preserved), so it numbers the records.
  return { sql: `SELECT *, rowid AS ${REC} FROM ${table}`, columns: cols.map((c) => ({ name: c.column_name, type: c.column_type })), records: Number(count[0].n), repaired: [], bad: [] };
}

let rawCounter = 0;
const rawTables = new WeakMap<Compute, Set<string>>();
function rawTablesOf(compute: Compute): Set<string> {
  let set = rawTables.get(compute);
  if (!set) rawTables.set(compute, (set = new Set()));
  return set;
}

/** Drops the temp tables of every file read so far on this Compute (after the batch is staged). */
export async function dropRawInputs(compute: Compute): Promise<void> {
  const set = rawTablesOf(compute);
  for (const table of set) await compute.run(`DROP TABLE IF EXISTS ${table}`);
  set.clear();
}

/** DuckDB's read errors, first lines only; CSV errors carry `Line: N`. */
export function duckdbReadError(kind: RejectKind, err: unknown): FileRejectedError {
  const message = (err as Error).message ?? String(err);
  const first = message.split('\n').filter((l) => l.trim() && !/^LINE \d+:/.test(l)).slice(0, 3).join(' ').replace(/\s+/g, ' ');
  const line = /Line:\s*(\d+)/i.exec(message);
  return new FileRejectedError(kind, first, line ? { line: Number(line[1]), column: 1 } : undefined);
}
