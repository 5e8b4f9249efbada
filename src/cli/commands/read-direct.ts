import { openSnapshotForRead } from '../../engine/snapshot-reader.ts';
import { readRowsDirect, statsRowCount } from '../../engine/delta/direct-read.ts';
import { optimizerOff, optimizerOn } from '../../engine/delta/parquet-lite/short-run.ts';
import { cellTextFor, isNumericType, type JsonText } from '../output/direct-values.ts';
import { NdjsonEncoder } from '../output/ndjson.ts';
import { csvField, csvRecord } from '../output/csv.ts';
import { formatTable, readTableFooter } from '../output/table-format.ts';
import { writeStdout } from '../output/write-stdout.ts';
import { TABLE_FORMAT_LIMIT, type ReadOptions } from './read-options.ts';

/**
 * `lakelet read` without DuckDB, for a plain read (no --where, no --timestamp) of a small local
 * table whose columns engine/delta/direct-read.ts decodes: the process then never loads DuckDB's
 * client, which alone takes longer than the DuckDB CLI needs for the whole read (issue 13).
 *
 * Everything is read and rendered before the first byte is written, so any refusal or failure
 * on the way (a type, an encoding, a damaged or missing file, a table that is not one) leaves
 * stdout untouched and returns false: the DuckDB path then reads the table, or reports the error,
 * exactly as before. What is printed is byte for byte what that path prints (values.ts renders in
 * SQL what direct-values.ts renders here; test/cli/read-direct.test.ts compares the two).
 *
 * LAKELET_READ_DIRECT=0 turns it off; LAKELET_TRACE_READ=1 says on stderr which path ran and why.
 */

/** Above this many bytes of data files the DuckDB path is used (it streams; this holds every row). */
const MAX_DIRECT_BYTES = 4 * 1024 * 1024;

/**
 * Above this many rows the DuckDB path is used: decoding here costs per row (zstd in JavaScript
 * above all) what loading DuckDB costs once: at 15,000 rows the two took about as long.
 */
const MAX_DIRECT_ROWS = 10_000;

/**
 * Up to this many rows (by the files' stats), V8 does not optimise while the rows are decoded and
 * rendered (`--no-opt`, turned back on after): a read this short is over before optimised code
 * pays for its compilation, which competes for the CPU and deoptimises on the way (measured on
 * a 1,000-row table: decode + render 15 → 11 ms at best, 43 → 15 ms median on a busy machine).
 */
const UNOPTIMISED_ROWS = 5_000;

/**
 * The read this process already declined: read-fast.ts, then read.ts after the full parse, ask
 * twice, from two copies of this module when the bin ran dist/read-fast.cjs, hence a registry
 * symbol on the global object rather than a module variable.
 */
const DECLINED = Symbol.for('lakelet.readDirect.declined');
const declinedRead = globalThis as { [DECLINED]?: string };

export async function readDirect(location: string, options: ReadOptions): Promise<boolean> {
  const declined = whyNot(options);
  if (declined) return trace(`DuckDB (${declined})`);
  const key = JSON.stringify([location, options.version, options.columns, options.limit, options.format]);
  if (key === declinedRead[DECLINED]) return false;
  const times: number[] = [now()];
  let text: string;
  try {
    text = await render(location, options, times);
  } catch (err) {
    declinedRead[DECLINED] = key;
    return trace(`DuckDB (${(err as Error).message})`);
  }
  const ms = (i: number) => (times[i + 1] - times[i]).toFixed(1);
  trace(`direct (started at ${times[0].toFixed(1)} ms; snapshot ${ms(0)} ms, decode ${ms(1)} ms, render ${ms(2)} ms)`);
  // A reader that goes away (`| head`) ends the read quietly, exit 0, as main.ts has it for the
  // SQL path (this runs before main: the bin calls it first).
  await writeStdout(text);
  return true;
}

function whyNot(options: ReadOptions): string | undefined {
  if (process.env.LAKELET_READ_DIRECT === '0') return 'LAKELET_READ_DIRECT=0';
  if (options.where !== undefined) return '--where needs SQL';
  if (options.timestamp !== undefined) return '--timestamp';
  return undefined;
}

/**
 * The time for the trace, 0 when not tracing: the first use of the global `performance` loads
 * Node's perf_hooks modules, ~1 ms of a read whose whole budget is ~100 ms.
 */
function now(): number {
  return process.env.LAKELET_TRACE_READ === '1' ? performance.now() : 0;
}

/** Each line once per process: up to three callers ask (see DECLINED), each would say the same. */
const TRACED = Symbol.for('lakelet.readDirect.traced');
const tracedRead = globalThis as { [TRACED]?: Set<string> };

function trace(path: string): false {
  if (process.env.LAKELET_TRACE_READ !== '1') return false;
  const said = (tracedRead[TRACED] ??= new Set());
  if (!said.has(path)) process.stderr.write(`lakelet: read: ${path}\n`);
  said.add(path);
  return false;
}

/** The whole output; `times` gets the time after the snapshot, the decode and the rendering. */
async function render(location: string, options: ReadOptions, times: number[]): Promise<string> {
  const { snapshot, close } = await openSnapshotForRead(location, options.version);
  times.push(now());
  const small = snapshot.files.every((f) => f.stats) && statsRowCount(snapshot.files) <= UNOPTIMISED_ROWS;
  if (small) optimizerOff();
  try {
    let result;
    try {
      result = await readRowsDirect(snapshot, { columns: options.columns, maxBytes: MAX_DIRECT_BYTES, maxRows: MAX_DIRECT_ROWS });
    } finally {
      close();
    }
    times.push(now());
    const text = format(result, options);
    times.push(now());
    return text;
  } finally {
    if (small) optimizerOn();
  }
}

/** csvField of a text that holds no comma, quote or line break (an empty binary's is empty). */
function plainCsvField(value: string | null): string {
  return value === null ? '' : value === '' ? '""' : value;
}

function format(result: Awaited<ReturnType<typeof readRowsDirect>>, options: ReadOptions): string {
  const { columns, rows } = result;
  if (columns.length === 0) throw new Error('no columns');
  const names = columns.map((c) => c.name);
  const texts = columns.map((c) => cellTextFor(c.type));
  // csv and the table format print plain text (CsvEncoder.line and read-duckdb.ts's printTable
  // apply plainText to the JSON text), ndjson the JSON text.
  const cells = (renderers: JsonText[]) => (row: (typeof rows)[number]): (string | null)[] => renderers.map((r, i) => r(row[i]));
  const plainCells = cells(texts.map((t) => t.plain));
  if (options.format === 'table') {
    const limit = options.limit ?? TABLE_FORMAT_LIMIT;
    const shown = rows.slice(0, limit).map(plainCells);
    return formatTable(names, shown, { rightAlign: columns.map((c) => isNumericType(c.type)) }) + readTableFooter(limit, rows.length);
  }
  const end = options.limit === undefined ? rows.length : Math.min(options.limit, rows.length);
  const parts: string[] = [];
  if (options.format === 'csv') {
    parts.push(csvRecord(names));
    // csvRecord's fields, joined without an array per row (fewer young-generation collections).
    // Only a string's text can hold what CSV quotes: a number's, date's, boolean's or base64's
    // never does, so those skip csvField's test.
    const plain = texts.map((t) => t.plain);
    const field = columns.map((c) => (c.type === 'string' ? csvField : plainCsvField));
    for (let r = 0; r < end; r++) {
      const row = rows[r];
      let line = field[0](plain[0](row[0]));
      for (let i = 1; i < plain.length; i++) line += ',' + field[i](plain[i](row[i]));
      parts.push(line + '\n');
    }
  } else {
    const encoder = new NdjsonEncoder(names);
    const jsonCells = cells(texts.map((t) => t.json));
    for (let r = 0; r < end; r++) parts.push(encoder.line(jsonCells(rows[r])));
  }
  return parts.join('');
}
