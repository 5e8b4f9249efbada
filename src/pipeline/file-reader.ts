import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Compute } from '../adapters/compute/compute.ts';
import { sqlIdent, sqlString } from '../adapters/compute/sql.ts';
import type { PipelineConfig } from './config.ts';
import { checkCsv, type RaggedRecord } from './csv-check.ts';
import { DELIMITERS, detectDelimiter } from './csv-delimiter.ts';
import { FileRejectedError, type RejectKind } from './errors.ts';
import { repairJson } from './json-repair.ts';
import { csvIntegerTypes, csvTypesOption, EXACT_DOUBLE_LIMIT, mayRoundIntegers, withCsvReadOption as withOption } from '../engine/ops/csv-integers.ts';
import { jsonIntegerTypes } from './exact-integers.ts';
import { namesOffset } from '../engine/ops/json-instants.ts';
import { JsonInteger, JsonSyntaxError, JsonTooDeepError, MAX_RECORD_DEPTH, nestingDepth, parseJsonStrict, stringifyJson } from './json-text.ts';
import { schemaFromDuckDbColumns } from '../engine/delta/duckdb-types.ts';
import { MAX_NESTED_LEVELS, tooDeepColumn } from '../engine/delta/nesting-limit.ts';
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
  /**
   * Read with its neighbours into one temp table (readCsvGroup): the table, the file's path in its
   * FILE_COLUMN, and its first rowid. Files of one table can then be selected in one statement
   * (group-select.ts) instead of one SELECT per file glued by UNION ALL.
   */
  group?: { table: string; path: string; lo: number };
  /** A CSV file's field delimiter: the pipeline's csv.delimiter, or the one detected in the file. */
  delimiter?: string;
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
  input: { bytes: Uint8Array; path: string; key?: string },
  workDir: string,
  workName: string,
  /** The raw columns of an earlier file of the batch: a CSV with the same header is read with them. */
  knownColumns?: { name: string; type: string }[],
  /** A CSV file's structure as checkCsvText already found it (not parsed twice). */
  checked?: CheckedCsv,
): Promise<RawInput> {
  const { bytes, path: file } = input;
  // DuckDB's errors name the path it read; the quarantine document names the file by its key.
  const as = (path: string) => (input.key !== undefined ? { path, key: input.key } : undefined);
  if (pipeline.format === 'parquet') {
    if (bytes.length === 0) throw new FileRejectedError('empty', 'the file is empty (0 bytes)');
    return describe(compute, `SELECT * FROM read_parquet(${sqlString(file)})`, 'parquet', undefined, as(file));
  }
  if (pipeline.format === 'csv') {
    const { text, header, records, ragged, lines: recordLines, delimiter, longest } = checked ?? checkCsvText(bytes, pipeline);
    // DuckDB reads it with the delimiter the check found (csv-delimiter.ts when none is set), and
    // with a line limit above its longest record.
    pipeline = withLineLimit(withDelimiter(pipeline, delimiter), longest);
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
    const raw = (await readKnownCsv(compute, source, pipeline, header, knownColumns)) ?? (await readSniffedCsv(compute, source, pipeline, as(source)));
    if (raw.records !== records) {
      throw new FileRejectedError('csv', `DuckDB read ${raw.records} records but the file has ${records} (read with delimiter ${JSON.stringify(delimiter)}); check the csv dialect (delimiter, quote, header)`, undefined, delimiterHint(pipeline, delimiter));
    }
    const bad = ragged.map((r): BadRecord => ({ line: r.line, column: 1, kind: 'csv', error: r.message, text: text.slice(r.start, r.end).replace(/\r?\n$/, '') }));
    return { ...raw, bad, lines: async () => recordLines, delimiter };
  }
  const text = decodeUtf8(bytes);
  // Anything but fail-file: a record that cannot be read is a bad record, not a bad file.
  const tolerant = pipeline.badRecords !== 'fail-file';
  // JSON and NDJSON: parse here (positions for errors, optional repair, json.path), load as NDJSON.
  const repaired = new Set<string>();
  const bad: BadRecord[] = [];
  // Integers beyond 2^53 (16 digits or more) are kept as written: JS numbers would round them.
  const exact = /\d{16}/.test(text);
  const integersBefore = JsonInteger.made;
  // Each document with the line it starts on (NDJSON: one per line; a JSON file is one document).
  // (With how deeply each nests: a record deeper than MAX_RECORD_DEPTH is bad, see below.)
  let docs: { doc: unknown; deepest: number; line?: number; text?: string }[];
  if (pipeline.format === 'json') {
    const stats = { deepest: 0 };
    docs = [{ doc: parseDocument(text, pipeline.json.repair, repaired, 0, exact, stats), deepest: stats.deepest }];
  } else {
    docs = [];
    // Lines end with LF (or CRLF: the CR is whitespace to JSON); a file with classic Mac line ends
    // (CR alone, as the arrival check takes them too) is split at its CRs.
    const lines = text.includes('\n') ? text.split('\n') : text.split('\r');
    const stats = { deepest: 0 };
    for (let n = 0; n < lines.length; n++) {
      if (lines[n].trim() === '') continue;
      try {
        docs.push({ doc: parseDocument(lines[n], pipeline.json.repair, repaired, n, exact, stats), deepest: stats.deepest, line: n + 1, text: lines[n] });
      } catch (err) {
        if (!tolerant || !(err instanceof FileRejectedError)) throw err;
        // (A value nested too deeply: what to do is not the generic hint's.)
        const error = err.hint === JSON_DEPTH_HINT ? `${err.detail} (${err.hint})` : err.detail;
        bad.push({ line: n + 1, ...(err.position ? { column: err.position.column } : {}), kind: 'json', error, text: lines[n].replace(/\r$/, '') });
      }
    }
  }
  const records: Record<string, unknown>[] = [];
  const recordLines: number[] = [];
  for (const { doc, deepest, line, text: docText } of docs) {
    // An NDJSON line is one record: an array (or null, a number…) there is not a batch of records
    // to unwrap but a line that is not what the format promises, so it is a bad record.
    if (line !== undefined && !isObject(doc)) {
      const error = `expected one JSON object per line, found ${Array.isArray(doc) ? `an array of ${doc.length} value${doc.length === 1 ? '' : 's'}` : jsonValueName(doc)}`;
      if (!tolerant) throw new FileRejectedError('json', error, { line, column: 1 }, NDJSON_LINE_HINT);
      bad.push({ line, column: 1, kind: 'json', error: `${error} (${NDJSON_LINE_HINT})`, text: (docText ?? '').replace(/\r$/, '') });
      continue;
    }
    const selected = pipeline.json.path ? selectPath(doc, pipeline.json.path) : doc;
    // A document that is `null` itself holds no records and says so nowhere: refused as the other
    // scalars are. (Under json.path, a document without that key simply has no records there.)
    if (selected === null && !pipeline.json.path && line === undefined) throw new FileRejectedError('json', 'expected JSON objects (one per record), found null', undefined, NOT_RECORDS_HINT);
    if (selected === undefined || selected === null) continue;
    const items = Array.isArray(selected) ? selected : [selected];
    for (const [index, item] of items.entries()) {
      if (!isObject(item)) {
        const error = `expected JSON objects (one per record)${pipeline.json.path ? ` at '${pipeline.json.path}'` : ''}, found ${jsonValueName(item)}`;
        // An NDJSON line is a record of its own; a JSON document's records have no line to point at.
        if (tolerant && line !== undefined) {
          bad.push({ line, kind: 'json', error, text: (docText ?? '').replace(/\r$/, '') });
          continue;
        }
        throw new FileRejectedError('json', error, undefined, NOT_RECORDS_HINT);
      }
      // Walked only when the document nests that deep at all (the parser counted its levels).
      const depth = deepest > MAX_RECORD_DEPTH ? nestingDepth(item) : 0;
      if (depth > MAX_RECORD_DEPTH) {
        const error = `a value nests ${depth - 1} levels deep (arrays and objects inside the record; at most ${MAX_RECORD_DEPTH - 1} are loaded)`;
        if (tolerant && line !== undefined) {
          bad.push({ line, kind: 'json', error: `${error} (${JSON_DEPTH_HINT})`, text: (docText ?? '').replace(/\r$/, '') });
          continue;
        }
        throw new FileRejectedError('json', `record ${index + 1}: ${error}`, line !== undefined ? { line, column: 1 } : undefined, JSON_DEPTH_HINT);
      }
      records.push(item as Record<string, unknown>);
      if (line !== undefined) recordLines.push(line);
    }
  }
  if (records.length === 0) return { columns: [], records: 0, repaired: [...repaired], bad };
  // Records that are all `{}` hold no value at all (DuckDB would name a lone column `json`).
  if (records.every((r) => Object.keys(r).length === 0)) {
    throw new FileRejectedError('json', `every record is an empty object {} (${records.length}): there are no values to load`, undefined, NOT_RECORDS_HINT);
  }
  // Only a file that held such an integer needs the exact writer and the retyping: 16 digits in a
  // string or a safe integer (epoch microseconds) made JSON.stringify's 8 ms per 10,000 records
  // stringifyJson's 27–30.
  const big = exact && JsonInteger.made > integersBefore;
  mkdirSync(workDir, { recursive: true });
  const normalized = join(workDir, `${workName}.ndjson`);
  writeFileSync(normalized, records.map((r) => (big ? stringifyJson(r) : JSON.stringify(r))).join('\n') + '\n');
  const readJson = (columns?: { name: string; type: string }[]) =>
    `SELECT * FROM read_json(${sqlString(normalized)}, format = 'newline_delimited', ${columns ? `columns = {${columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ')}}` : 'sample_size = -1'})`;
  let raw = await describe(compute, readJson(), 'json', undefined, as(normalized));
  const retyped = jsonReadTypes(raw.columns, big ? jsonIntegerTypes(records, raw.columns) : undefined, instantColumns(records, raw.columns));
  if (retyped.some((c, i) => c.type !== raw.columns[i].type)) {
    await dropRawTable(compute, raw);
    raw = await describe(compute, readJson(retyped), 'json', retyped, as(normalized));
  }
  return { ...raw, repaired: [...repaired], bad, ...(pipeline.format === 'ndjson' ? { lines: async () => recordLines } : {}) };
}

/**
 * The types to read a normalized JSON file's columns with, where DuckDB's own would change values:
 * a column whose values have several JSON types (strings and objects, say) is inferred as JSON,
 * whose text quotes every string ("x"); read as VARCHAR, a string is its characters and an object
 * or array its JSON text, as Spark infers such a column as a string.
 */
function jsonReadTypes(columns: { name: string; type: string }[], integers: Map<string, string> | undefined, instants: Set<string>): { name: string; type: string }[] {
  return columns.map((c) =>
    c.type === 'JSON'
      ? { name: c.name, type: 'VARCHAR' }
      : integers?.has(c.name)
        ? { name: c.name, type: integers.get(c.name)! }
        : instants.has(c.name)
          ? { name: c.name, type: 'TIMESTAMP WITH TIME ZONE' }
          : c,
  );
}

/**
 * The TIMESTAMP columns whose text names its offset, read as instants: DuckDB's JSON reader makes
 * `2024-01-01T05:00:00+02:00` a wall-clock TIMESTAMP (see engine/ops/json-instants.ts, which does
 * the same for a file given to `write`/`merge`). Named as DESCRIBE names the type: the established
 * type is compared by name when later files are cast.
 */
function instantColumns(records: Record<string, unknown>[], columns: { name: string; type: string }[]): Set<string> {
  const found = new Set<string>();
  for (const { name, type } of columns) {
    if (type === 'TIMESTAMP' && namesOffset(records.find((r) => r[name] !== null && r[name] !== undefined)?.[name])) found.add(name);
  }
  return found;
}

/** A JSON object (a record), not an array, a scalar or a big integer. */
function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JsonInteger);
}

/** What to do about an NDJSON line that is not one object. */
const NDJSON_LINE_HINT = 'an NDJSON line holds one record: write each object on a line of its own, or use format: json for a file that is one JSON array of records';

/** A CSV file's text and structure (checkCsv): its header, records, ragged records, and each record's line. */
export interface CheckedCsv {
  text: string;
  header: string[];
  records: number;
  ragged: RaggedRecord[];
  lines: number[];
  /** The field delimiter it was checked with: csv.delimiter, or detected (csv-delimiter.ts). */
  delimiter: string;
  /** The longest record, in UTF-16 code units. */
  longest: number;
}

/** Decodes and checks a CSV file's structure (throws FileRejectedError as readRaw does). */
export function checkCsvText(bytes: Uint8Array, pipeline: PipelineConfig): CheckedCsv {
  const text = decodeUtf8(bytes);
  // Anything but fail-file: a record that cannot be read is a bad record, not a bad file.
  const tolerant = pipeline.badRecords !== 'fail-file';
  // The line of each record, collected in the one pass over the text (to place a bad value later).
  const lines: number[] = [];
  const delimiter = pipeline.csv.delimiter ?? detectDelimiter(text, pipeline.csv.quote === undefined ? '"' : pipeline.csv.quote, pipeline.csv.escape);
  const dialect = delimiter === pipeline.csv.delimiter ? pipeline.csv : { ...pipeline.csv, delimiter };
  try {
    const { header, records, ragged = [], longest } = checkCsv(text, dialect, { tolerant, lines });
    repeatedColumn(header, pipeline);
    return { text, header, records, ragged, lines, delimiter, longest };
  } catch (err) {
    // A ragged record may just be the wrong delimiter: say which one was used, and how to set it.
    if (err instanceof FileRejectedError && err.kind === 'csv' && /^expected \d+ fields/.test(err.detail)) {
      throw new FileRejectedError(err.kind, `${err.detail} (read with delimiter ${JSON.stringify(delimiter)})`, err.position, `${err.hint ?? 'a ragged record'}; ${delimiterHint(pipeline, delimiter)}`);
    }
    throw err;
  }
}

/**
 * Refuses a header that names a column twice (also in another case: Delta column names ignore
 * case). DuckDB would read the second as `name_1`, and schema evolution would then add that
 * made-up column to the stage and target for good.
 */
function repeatedColumn(header: string[], pipeline: PipelineConfig): void {
  if (header.length < 2) return;
  const seen = new Map<string, number>();
  for (const [i, h] of header.entries()) {
    const lower = h.toLowerCase();
    const first = seen.get(lower);
    if (first === undefined) {
      seen.set(lower, i);
      continue;
    }
    const fields = `fields ${first + 1} and ${i + 1}`;
    throw new FileRejectedError(
      'csv',
      header[first] === h
        ? `the header names column '${h}' twice (${fields})`
        : `the header names columns '${header[first]}' and '${h}' (${fields}): one name to a Delta table, whose column names ignore case`,
      undefined,
      `rename one of them in the file's header (or, if the file has no header line, set csv: { header: false } for pipeline '${pipeline.name}' in lakelet.yml), then run \`lakelet requeue\` on the file`,
    );
  }
}

/** The pipeline as it reads a file with this delimiter (itself when that is its csv.delimiter). */
function withDelimiter(pipeline: PipelineConfig, delimiter: string): PipelineConfig {
  return delimiter === pipeline.csv.delimiter ? pipeline : { ...pipeline, csv: { ...pipeline.csv, delimiter } };
}

/** DuckDB's read_csv refuses a record longer than this many bytes unless told otherwise (max_line_size). */
const DUCKDB_LINE_LIMIT = 2_000_000;

/** The CSV dialect as read_csv is given it: the configured one, and a line limit for long records. */
type ReadDialect = PipelineConfig['csv'] & { maxLineSize?: number };

/**
 * A file with a record that may exceed DuckDB's line limit (a 5 MB JSON document in one field) is
 * read with a limit above it; others keep DuckDB's default, which reads large files faster (a
 * 140 MB file took 1.6-1.9 s with it against 2.1-2.5 s with a 1 GB limit). `longest` is in UTF-16
 * code units, at most 3 UTF-8 bytes each.
 */
function withLineLimit(pipeline: PipelineConfig, longest: number): PipelineConfig {
  const bytes = longest * 3 + 2;
  if (bytes < DUCKDB_LINE_LIMIT) return pipeline;
  const csv: ReadDialect = { ...pipeline.csv, maxLineSize: bytes };
  return { ...pipeline, csv };
}

/** How to read a file whose delimiter is not the one used. */
export function delimiterHint(pipeline: PipelineConfig, used: string): string {
  const how = pipeline.csv.delimiter === undefined ? 'detected from its first lines: csv.delimiter is not set' : 'csv.delimiter in lakelet.yml';
  const other = DELIMITERS.find((d) => d !== used) ?? ';';
  return `the delimiter was ${JSON.stringify(used)} (${how}); if the file uses another, set it for pipeline '${pipeline.name}' in lakelet.yml, e.g. csv: { delimiter: ${JSON.stringify(other)} }`;
}

/** Whether a checked CSV file can be read with others of the same layout in one statement (readCsvGroup). */
export function groupable(checked: CheckedCsv, pipeline: PipelineConfig, known: { name: string; type: string }[] | undefined): boolean {
  return knownReadable(pipeline, checked.header, known) && checked.ragged.length === 0 && checked.records > 0;
}

/**
 * Many small CSV files of one layout read into one temp table in one statement, each with the
 * known columns (as readKnownCsv reads one): a file's rows are a rowid range of it, in file order.
 * Undefined when the read fails or does not give each file exactly its records; the caller then
 * reads the files one by one, so a file that does not fit is found and read as it is.
 */
export async function readCsvGroup(
  compute: Compute,
  pipeline: PipelineConfig,
  files: { path: string; checked: CheckedCsv }[],
  known: { name: string; type: string }[],
): Promise<RawInput[] | undefined> {
  // One statement reads them with one delimiter.
  const delimiter = files[0].checked.delimiter;
  if (files.some((f) => f.checked.delimiter !== delimiter)) return undefined;
  pipeline = withDelimiter(pipeline, delimiter);
  const table = `__lakelet_raw_${process.pid}_${++rawCounter}`;
  const source = `[${files.map((f) => sqlString(f.path)).join(', ')}]`;
  const sql = knownCsvSql(source, pipeline, known, FILE_COLUMN);
  if (sql === undefined) return undefined;
  try {
    await compute.run(`CREATE TEMP TABLE ${table} AS ${sql}`);
  } catch {
    return undefined;
  } finally {
    rawTablesOf(compute).add(table);
  }
  // (A double column reaching 2^53 failed the read above, knownCsvSql: the files are then read one by one.)
  const counts = await compute.query<{ f: string; n: string | number; lo: string | number; hi: string | number }>(
    `SELECT ${FILE_COLUMN} AS f, count(*) AS n, min(rowid) AS lo, max(rowid) AS hi FROM ${table} GROUP BY 1`,
  );
  const byFile = new Map(counts.map((c) => [c.f, { n: Number(c.n), lo: Number(c.lo), hi: Number(c.hi) }]));
  const out: RawInput[] = [];
  let next = 0;
  for (const f of files) {
    const c = byFile.get(f.path);
    // Each file its own records, contiguous and in file order, or not taken this way.
    if (!c || c.n !== f.checked.records || c.hi - c.lo + 1 !== c.n || c.lo !== next) return undefined;
    next = c.hi + 1;
    const lines = f.checked.lines;
    out.push({
      sql: `SELECT * EXCLUDE (${FILE_COLUMN}), rowid - ${c.lo} AS ${REC} FROM ${table} WHERE rowid BETWEEN ${c.lo} AND ${c.hi}`,
      columns: known.map((k) => ({ name: k.name, type: k.type })),
      records: c.n,
      repaired: [],
      bad: [],
      lines: async () => lines,
      group: { table, path: f.path, lo: c.lo },
      delimiter,
    });
  }
  return out;
}

/** The column of a group's temp table naming each row's file (its path), as read_csv's `filename` gives it. */
export const FILE_COLUMN = '__lakelet_file';

/** `stats.deepest`: how deeply the document nests. */
function parseDocument(text: string, repair: boolean, repaired: Set<string>, lineOffset: number, exactIntegers: boolean, stats: { deepest: number }): unknown {
  // Not a syntax slip a repair could fix: the value itself is too deep to load as a column.
  const tooDeep = (err: JsonTooDeepError) =>
    new FileRejectedError('json', err.message.replace(/ at line \d+, column \d+$/, ''), { line: err.position.line + lineOffset, column: err.position.column }, JSON_DEPTH_HINT);
  try {
    return parseJsonStrict(text, { exactIntegers, stats });
  } catch (err) {
    if (err instanceof JsonTooDeepError) throw tooDeep(err);
    if (!(err instanceof JsonSyntaxError)) throw err;
    const position = { line: err.position.line + lineOffset, column: err.position.column };
    const detail = err.message.replace(/ at line \d+, column \d+$/, '');
    let fixed: ReturnType<typeof repairJson> | undefined;
    try {
      fixed = repairJson(text, { exactIntegers });
    } catch (repairErr) {
      // (A syntax slip before the nesting gets too deep: the repair's own parse finds the depth.)
      if (repairErr instanceof JsonTooDeepError) throw tooDeep(repairErr);
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
    stats.deepest = nestingDepth(fixed!.value);
    return fixed!.value;
  }
}

const NOT_RECORDS_HINT = 'a JSON file holds an array of objects (or one object), one record each, with json.path naming where they are in a larger document; fix the file and land it again';

const JSON_DEPTH_HINT = `flatten it, or send the value as a JSON string ("value": "[[…]]"), which lakelet stores as text`;

/** What a JSON value that should have been an object is, for an error: `the number 42`, `an array`. */
function jsonValueName(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${stringifyJson(v)}`;
  if (typeof v === 'number' || v instanceof JsonInteger) return `the number ${stringifyJson(v)}`;
  return stringifyJson(v);
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
 * falls back to full detection, so drift is still seen exactly as before. DuckDB's reader rounds
 * text like 8.5 into an integer column and cuts a time off a date, where sniffing would have said
 * DOUBLE or TIMESTAMP (and the lossless check then caught it): such columns are read as text and
 * converted only when every value is written as the type is, else the read fails too. A DOUBLE
 * column reaching 2^53 may hold an integer the double rounded: not taken this way either.
 */
async function readKnownCsv(
  compute: Compute,
  file: string,
  pipeline: PipelineConfig,
  header: string[],
  known: { name: string; type: string }[] | undefined,
): Promise<RawInput | undefined> {
  if (!known || !knownReadable(pipeline, header, known)) return undefined;
  const sql = knownCsvSql(sqlString(file), pipeline, known);
  if (sql === undefined) return undefined;
  try {
    return await describe(compute, sql, 'csv', known);
  } catch {
    return undefined;
  }
}

/**
 * A CSV file read with its types detected, where a column detected as DOUBLE that would round an
 * integer is read again as the type that keeps it (exact-integers.ts).
 */
async function readSniffedCsv(compute: Compute, source: string, pipeline: PipelineConfig, name: { path: string; key: string } | undefined): Promise<RawInput> {
  const sql = csvSql(source, pipeline);
  const raw = await describe(compute, sql, 'csv', undefined, name);
  const types = await csvIntegerTypes(compute, rawTable(raw)!, raw.columns, () => withOption(sql, 'all_varchar = true'));
  if (types.size === 0) return raw;
  await dropRawTable(compute, raw);
  return describe(compute, withOption(sql, csvTypesOption(types)), 'csv', undefined, name);
}

/** The header names are the known columns' (and the file has a header to compare). */
function knownReadable(pipeline: PipelineConfig, header: string[], known: { name: string; type: string }[] | undefined): known is { name: string; type: string }[] {
  if (!known || (pipeline.csv.header ?? true) === false || header.length !== known.length) return false;
  return !header.some((h, i) => h !== known[i].name);
}

/** read_csv of `source` (a path or a list, as SQL) with the known columns, guarded as readKnownCsv says; undefined: not this way. */
function knownCsvSql(source: string, pipeline: PipelineConfig, known: { name: string; type: string }[], fileColumn?: string): string | undefined {
  const shapes = known.map((c) => strictShape(c.type, pipeline));
  if (shapes.some((x) => x === null)) return undefined;
  const columns = known.map((c, i) => `${sqlString(c.name)}: ${sqlString(shapes[i] ? 'VARCHAR' : c.type)}`).join(', ');
  const read = csvSqlFrom(source, pipeline).replace(/\)$/, `, auto_detect = false, columns = {${columns}}${fileColumn ? `, filename = ${sqlString(fileColumn)}` : ''})`);
  const inexact = known.map((c) => mayRoundIntegers(c.type));
  if (!shapes.some((x) => x) && !inexact.some((x) => x)) return read;
  const guarded = known.map((c, i) => {
    const col = sqlIdent(c.name);
    const shape = shapes[i];
    // A double reaching 2^53 may be an integer it rounded: the read fails (exact-integers.ts),
    // a numeric test in the read itself rather than one more query over the rows.
    if (inexact[i]) return `CASE WHEN isfinite(${col}) AND abs(${col}) >= ${EXACT_DOUBLE_LIMIT} THEN error(${sqlString(`a ${c.type} reaching 2^53`)}) ELSE ${col} END AS ${col}`;
    if (!shape) return col;
    return `CASE WHEN ${col} IS NULL OR regexp_full_match(${col}, ${sqlString(shape)}) THEN CAST(${col} AS ${c.type}) ELSE error(${sqlString(`not a plain ${c.type}`)}) END AS ${col}`;
  });
  return `SELECT ${[...guarded, ...(fileColumn ? [fileColumn] : [])].join(', ')} FROM (${read})`;
}

/**
 * The text a value of a type the reader would convert with a loss must have to be read as that
 * type (a regular expression); undefined: the reader's own conversion fails where it must; null:
 * the fast path is not taken (a date read by a custom dateformat). A DECIMAL(p,0) column (a
 * column of big integers, exact-integers.ts) would round 1.5 to 2 as an integer column would.
 */
function strictShape(type: string, pipeline: PipelineConfig): string | undefined | null {
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|DECIMAL\(\d+,\s*0\))$/.test(type)) return '[+-]?(0|[1-9][0-9]*)';
  if (type === 'DATE') return pipeline.csv.dateFormat !== undefined ? null : '[0-9]{4}-[0-9]{2}-[0-9]{2}';
  return undefined;
}

export function csvSql(file: string, pipeline: PipelineConfig): string {
  return csvSqlFrom(sqlString(file), pipeline);
}

function csvSqlFrom(source: string, pipeline: PipelineConfig): string {
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
  const limit = (o as ReadDialect).maxLineSize;
  if (limit !== undefined) opts.push(`max_line_size = ${limit}`);
  return `SELECT * FROM read_csv(${source}, ${opts.join(', ')})`;
}

/**
 * Reads the file once into a DuckDB temp table: every later step (counts, cast checks, the batch's
 * stage write) reads that table instead of sniffing and parsing the file again — with hundreds of
 * small files, re-parsing dominated a batch. Tables are dropped by `dropRawInputs` after staging.
 */
async function describe(compute: Compute, sql: string, kind: RejectKind, known?: { name: string; type: string }[], name?: { path: string; key: string }): Promise<RawInput> {
  const table = `__lakelet_raw_${process.pid}_${++rawCounter}`;
  let created: { Count?: string | number }[];
  try {
    created = await compute.query<{ Count?: string | number }>(`CREATE TEMP TABLE ${table} AS ${sql}`);
  } catch (err) {
    throw duckdbReadError(kind, err, name);
  }
  rawTablesOf(compute).add(table);
  // A read with the columns given has exactly those (no DESCRIBE); CREATE … AS says how many rows it took.
  const columns = known
    ? known.map((c) => ({ name: c.name, type: c.type }))
    : (await compute.query<{ column_name: string; column_type: string }>(`DESCRIBE ${table}`)).map((c) => ({ name: c.column_name, type: c.column_type }));
  assertNestingLoadable(columns);
  const records = created[0]?.Count !== undefined ? Number(created[0].Count) : Number((await compute.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${table}`))[0].n);
  // rowid: the table was filled in file order (insertion order is preserved), so it numbers the records.
  return { sql: `SELECT *, rowid AS ${REC} FROM ${table}`, columns, records, repaired: [], bad: [] };
}

/**
 * A file with a column nested deeper than the engine writes (a Parquet file's list of lists of …)
 * is rejected on its own here: at the stage write it would fail the whole batch, good files with it.
 */
function assertNestingLoadable(columns: { name: string; type: string }[]): void {
  // (Flat files, the usual case, skip the type parsing: a nested type names [], STRUCT or MAP.)
  if (!columns.some((c) => /\[|STRUCT|MAP/i.test(c.type))) return;
  let deep: ReturnType<typeof tooDeepColumn>;
  try {
    deep = tooDeepColumn(schemaFromDuckDbColumns(columns));
  } catch {
    return; // a type the stage write names itself, with its own error
  }
  if (deep) {
    throw new FileRejectedError('schema', `column ${deep.name} nests ${deep.levels} levels deep (lists, structs and maps); at most ${MAX_NESTED_LEVELS} are loaded`, undefined, 'flatten it, or write it as JSON text; a deeper column would leave the table too slow to read');
  }
}

/** Drops the temp table of a file read that is read again another way (describe's table). */
async function dropRawTable(compute: Compute, raw: RawInput): Promise<void> {
  const table = rawTable(raw);
  if (!table) return;
  await compute.run(`DROP TABLE IF EXISTS ${table}`);
  rawTablesOf(compute).delete(table);
}

/** The temp table a RawInput read by describe selects from. */
function rawTable(raw: RawInput): string | undefined {
  return /FROM (__lakelet_raw_\w+)$/.exec(raw.sql ?? '')?.[1];
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
  // One round trip for the batch's tables (a batch of small files has hundreds).
  if (set.size > 0) await compute.run([...set].map((table) => `DROP TABLE IF EXISTS ${table};`).join(' '));
  set.clear();
}

/**
 * DuckDB's read errors, first lines only, without the SQL it quotes (`LINE 1: …` and the `^` under
 * it); CSV errors carry `Line: N`. With `name`, the path DuckDB read is named by the file's key:
 * the landing path is gone once the file is quarantined, and a work copy's means nothing.
 */
export function duckdbReadError(kind: RejectKind, err: unknown, name?: { path: string; key: string }): FileRejectedError {
  const message = (err as Error).message ?? String(err);
  let first = message.split('\n').filter((l) => l.trim() && !/^LINE \d+:/.test(l) && !/^\s*\^\s*$/.test(l)).slice(0, 3).join(' ').replace(/\s+/g, ' ').trim();
  if (name) first = first.split(name.path).join(name.key);
  if (kind === 'parquet') {
    first = first.replace(/^(Invalid Input|IO|Invalid) Error: /, 'not a readable Parquet file: ');
    // The footer's Thrift decoder speaks of its own internals ("don't know what type: ",
    // "TProtocolException: Negative size"): what they mean is a damaged or cut footer.
    if (/TProtocolException|don't know what type/i.test(first)) {
      const detail = first.replace(/^not a readable Parquet file: /, '').replace(/:\s*$/, '');
      return new FileRejectedError(kind, `not a readable Parquet file: its footer (the file's metadata, at its end) is damaged or cut off (${detail})`, undefined, 'write the file again from its source and land it again');
    }
  }
  // A CSV error quotes the record it failed on, which may be megabytes long: its start and its end
  // (where DuckDB says what was wrong) are kept.
  if (first.length > 600) first = `${first.slice(0, 300)} … ${first.slice(-300)}`;
  const line = /Line:\s*(\d+)/i.exec(message);
  return new FileRejectedError(kind, first, line ? { line: Number(line[1]), column: 1 } : undefined);
}
