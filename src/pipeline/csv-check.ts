import { FileRejectedError } from './errors.ts';
import type { CsvDialect } from './config.ts';

/** A data record with the wrong number of fields: where it is, and its text [start, end). */
export interface RaggedRecord {
  line: number;
  fields: number;
  message: string;
  start: number;
  end: number;
}

/**
 * Checks a CSV file's structure before DuckDB reads it (DuckDB's sniffer may silently skip ragged
 * lines): quotes close, every record has as many fields as the first, and says where not. Returns
 * the header's column names and the number of data records.
 *
 * With `tolerant`, a record with the wrong field count is a bad record, not a bad file: it is
 * returned in `ragged` (and not counted in `records`). `lines`, when given, receives the first line
 * of every good data record, in order (to say where a record DuckDB read came from).
 */
export function checkCsv(
  text: string,
  dialect: CsvDialect,
  options: { tolerant?: boolean; lines?: number[] } = {},
): { header: string[]; records: number; ragged?: RaggedRecord[]; longest: number } {
  const ragged: RaggedRecord[] = [];
  const delim = dialect.delimiter ?? ',';
  const quote = dialect.quote === undefined ? '"' : dialect.quote;
  const escape = dialect.escape === undefined ? quote : dialect.escape;
  const hasHeader = dialect.header ?? true;
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let expected = -1;
  let header: string[] = [];
  let records = 0;
  // The longest record, in UTF-16 code units (DuckDB refuses a record longer than its line limit).
  let longest = 0;
  const n = text.length;
  // A line with neither a quote nor a bare CR counts its delimiters: one native search for its end
  // and one pass over it, no field scanned one by one (the header always goes the long way).
  const d = delim.length === 1 ? delim.charCodeAt(0) : -1;
  let nextQuote = quote ? text.indexOf(quote) : -1;
  let nextCr = text.indexOf('\r');
  let nextDelim = d >= 0 ? text.indexOf(delim) : -1;
  while (i < n) {
    const recordLine = line;
    const recordStart = i;
    // Only the first record's fields are kept (the header); the others are counted, not copied.
    const keep = expected < 0;
    const fields: string[] = [];
    let count = 0;
    let lastEmpty = false;
    let field = '';
    let nl = -1;
    let end = -1;
    if (!keep && d >= 0) {
      nl = text.indexOf('\n', i);
      if (nl < 0) nl = n;
      if (nextQuote !== -1 && nextQuote < i) nextQuote = text.indexOf(quote, i);
      if (nextCr !== -1 && nextCr < i) nextCr = text.indexOf('\r', i);
      // CR only as the line's last character (CRLF, or CR at the end of the text).
      end = nextCr !== -1 && nextCr < nl ? (nextCr === nl - 1 ? nextCr : -1) : nl;
      if (end !== -1 && nextQuote !== -1 && nextQuote < end) end = -1;
    }
    if (end !== -1) {
      // Delimiters found by the native search, not compared one character at a time (a line has a
      // dozen fields and a hundred characters). The search past the line's end is kept for the
      // lines after it, so a text with few delimiters is still searched once, not once per line.
      count = 1;
      if (nextDelim !== -1 && nextDelim < i) nextDelim = text.indexOf(delim, i);
      while (nextDelim !== -1 && nextDelim < end) {
        count++;
        nextDelim = text.indexOf(delim, nextDelim + 1);
      }
      lastEmpty = end === i;
      i = nl < n ? nl + 1 : n;
      line++;
      lineStart = i;
    } else {
      // One record.
      for (;;) {
        if (quote && text[i] === quote) {
          const qLine = line;
          const qCol = i - lineStart + 1;
          i++;
          let empty = true;
          for (;;) {
            if (i >= n) {
              throw new FileRejectedError('csv', 'unterminated quoted field', { line: qLine, column: qCol }, `the quote at line ${qLine}, column ${qCol} opens a field that never closes: close it, or double a quote inside a quoted field (""); if quotes are not special in this file, set csv: { quote: "" } for the pipeline in lakelet.yml`);
            }
            const c = text[i];
            if (escape && c === escape && text[i + 1] === quote) {
              if (keep) field += quote;
              empty = false;
              i += 2;
              continue;
            }
            if (c === quote) {
              i++;
              break;
            }
            if (c === '\n') {
              line++;
              lineStart = i + 1;
            }
            if (keep) field += c;
            empty = false;
            i++;
          }
          lastEmpty = empty;
          if (i < n && !text.startsWith(delim, i) && text[i] !== '\n' && text[i] !== '\r') {
            throw new FileRejectedError('csv', `unexpected character ${JSON.stringify(text[i])} after a closing quote`, { line, column: i - lineStart + 1 });
          }
        } else {
          // An unquoted field is a slice of the text: scanned by char code, not built a char at a time.
          const start = i;
          if (delim.length === 1) {
            const d = delim.charCodeAt(0);
            for (; i < n; i++) {
              const c = text.charCodeAt(i);
              if (c === d || c === 10 || c === 13) break;
            }
          } else {
            while (i < n && !text.startsWith(delim, i) && text[i] !== '\n' && text[i] !== '\r') i++;
          }
          lastEmpty = i === start;
          if (keep) field = text.slice(start, i);
        }
        count++;
        if (keep) fields.push(field);
        field = '';
        if (i < n && text.startsWith(delim, i)) {
          i += delim.length;
          continue;
        }
        break;
      }
      if (text[i] === '\r') i++;
      if (text[i] === '\n') i++;
      line++;
      lineStart = i;
    }
    if (i - recordStart > longest) longest = i - recordStart;
    // Blank lines are not records.
    if (count === 1 && lastEmpty) continue;
    if (expected < 0) {
      expected = count;
      if (hasHeader) {
        header = fields;
        continue;
      }
    } else if (count !== expected) {
      const message = `expected ${expected} fields (as in line 1) but found ${count}`;
      if (!options.tolerant) throw new FileRejectedError('csv', message, { line: recordLine, column: 1 }, 'a ragged row: a missing or extra delimiter');
      ragged.push({ line: recordLine, fields: count, message, start: recordStart, end: i });
      continue;
    }
    options.lines?.push(recordLine);
    records++;
  }
  if (hasHeader && expected < 0) throw new FileRejectedError('empty', 'the file has no header line');
  return { header, records, ...(options.tolerant ? { ragged } : {}), longest };
}
