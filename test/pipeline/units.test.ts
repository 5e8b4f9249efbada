import { describe, expect, it } from 'vitest';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repairJson } from '../../src/pipeline/json-repair.ts';
import { JsonSyntaxError, JsonTooDeepError, parseJsonStrict } from '../../src/pipeline/json-text.ts';
import { checkCsv } from '../../src/pipeline/csv-check.ts';
import { duckdbReadError } from '../../src/pipeline/file-reader.ts';
import { chunk } from '../../src/pipeline/runner.ts';
import { DirectoryScanTrigger } from '../../src/adapters/trigger/directory-scan/directory-scan-trigger.ts';
import type { FileArrival } from '../../src/adapters/trigger/file-trigger.ts';
import { tempDir } from '../support/temp.ts';

describe('JSON repair (tokenizer, not regex)', () => {
  it('fixes quotes, Python literals, trailing commas and stringified arrays, leaving string contents alone', () => {
    const r = repairJson(`{'a': 'it\\'s "True"', "b": [True, False, None,], 'c': '["1", "2"]', 'd': '[not json]', 'e': -1.5e3}`);
    expect(r.value).toEqual({ a: `it's "True"`, b: [true, false, null], c: ['1', '2'], d: '[not json]', e: -1500 });
    expect(r.fixes).toEqual(expect.arrayContaining(['single quotes → double quotes', 'removed trailing commas', 'stringified JSON arrays/objects → values']));
  });

  it('what it cannot repair stays an error with the position in the original text', () => {
    expect(() => repairJson(`{'a': 1,\n 'b': undefined}`)).toThrow(/unknown literal 'undefined'/);
    try {
      repairJson(`{'a': 1,\n 'b' 2}`);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(JsonSyntaxError);
      expect((err as JsonSyntaxError).position).toEqual({ line: 2, column: 6 });
    }
  });

  it('the strict parser reports line and column', () => {
    expect(() => parseJsonStrict('{"a": [1, 2,]}')).toThrow('trailing comma before ] at line 1, column 13');
    expect(() => parseJsonStrict('{"a": 1}\n{"b": 2}')).toThrow(/after the end of the document at line 2, column 1/);
    expect(parseJsonStrict(' {"a": "\\u00e9\\n", "b": [1e2, -0.5, true, null]} ')).toEqual({ a: 'é\n', b: [100, -0.5, true, null] });
  });

  it('the strict parser reads 100 levels of nesting and refuses the 101st where it opens, without running out of stack', () => {
    const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    expect(() => parseJsonStrict(nest(100))).not.toThrow();
    expect(() => parseJsonStrict(`{"a": ${nest(100)}}`)).toThrow(JsonTooDeepError);
    expect(() => parseJsonStrict(`{"a": ${nest(100)}}`)).toThrow('nested more than 100 levels deep (arrays and objects; a record may nest at most 15 below itself) at line 1, column 106');
    expect(() => parseJsonStrict(nest(1_000_000))).toThrow(JsonTooDeepError);
  });
});

describe('Parquet read errors', () => {
  it("a damaged footer is named as such, not in the Thrift decoder's words alone", () => {
    for (const raw of ["Invalid Input Error: don't know what type: \u000f", 'IO Error: TProtocolException: Negative size']) {
      const err = duckdbReadError('parquet', new Error(raw));
      expect(err.detail).toMatch(/^not a readable Parquet file: its footer \(the file's metadata, at its end\) is damaged or cut off \(/);
      expect(err.hint).toBe('write the file again from its source and land it again');
    }
    expect(duckdbReadError('parquet', new Error('IO Error: No magic bytes found at end of file')).detail).toBe('not a readable Parquet file: No magic bytes found at end of file');
  });
});

describe('CSV structure check', () => {
  it('quoted fields with delimiters, escaped quotes and newlines; CRLF; other dialects', () => {
    // longest: the second record, quotes, inner newline and CRLF included (22 characters).
    expect(checkCsv('id,v\r\n1,"a,b"\r\n2,"say ""hi""\nthere"\r\n', {})).toEqual({ header: ['id', 'v'], records: 2, longest: 22 });
    expect(checkCsv('id|v\n1|"x\\"y"\n', { delimiter: '|', escape: '\\' }).records).toBe(1);
    expect(checkCsv('1,a\n2,b\n', { header: false }).records).toBe(2);
    expect(() => checkCsv('id,v\n1,"a"b\n', {})).toThrow(/after a closing quote/);
  });

  it('records are counted, not copied: the header keeps its (quoted) names, blank lines are skipped, ragged records are found with their lines', () => {
    const lines: number[] = [];
    const text = '\n"i""d",v\n1,a\n\n""\n2,"x\ny"\n3\n4,b,c\n5,\n';
    const r = checkCsv(text, {}, { tolerant: true, lines });
    expect(r.header).toEqual(['i"d', 'v']);
    // '""' alone on a line is one empty field: a blank line, as an empty unquoted one.
    expect(r.records).toBe(3);
    expect(lines).toEqual([3, 6, 10]);
    expect(r.ragged?.map((x) => [x.line, x.fields, text.slice(x.start, x.end)])).toEqual([
      [8, 1, '3\n'],
      [9, 3, '4,b,c\n'],
    ]);
    expect(() => checkCsv('id,v\n1,2\n3\n', {})).toThrow('expected 2 fields (as in line 1) but found 1');
  });

  it('lines without quotes are counted by their delimiters, with the same records, lines and ragged ones as the field-by-field parse', () => {
    // A bare CR ends a record (as DuckDB reads it); CRLF and a CR at the very end do not add one.
    const lines: number[] = [];
    const r = checkCsv('id,v\r\n1,a\r\n2,b\r3,c\n4,"q\nr",x\n5,e\r', {}, { tolerant: true, lines });
    expect(r.records).toBe(4);
    expect(lines).toEqual([2, 3, 4, 7]);
    expect(r.ragged?.map((x) => [x.line, x.fields, x.start, x.end])).toEqual([[5, 3, 19, 29]]);
    // No newline at the end; a quote further on in the text does not stop the lines before it.
    expect(checkCsv('a;b;c\n1;2;3\n4;5\n6;"7;8";9', { delimiter: ';' }, { tolerant: true })).toMatchObject({ records: 2, ragged: [{ line: 3, fields: 2 }] });
    expect(() => checkCsv('a,b\n1,2\n3,"x\n', {})).toThrow('unterminated quoted field');
  });

  it('the delimiter search carried from line to line counts each line alone: after quoted records, across empty lines, with one column', () => {
    // Quoted records (parsed field by field) with delimiters inside them sit between counted lines:
    // a search position left inside them must not count their delimiters for the next line.
    const text = 'a,b,c\n1,2,3\n"x,y,z",",",q\n4,5\n\n6,7,8\n"p\n,,,",r,s\n9,10,11,12\n13,14,15';
    const lines: number[] = [];
    const r = checkCsv(text, {}, { tolerant: true, lines });
    expect(r.records).toBe(5);
    expect(lines).toEqual([2, 3, 6, 7, 10]);
    expect(r.ragged?.map((x) => [x.line, x.fields])).toEqual([
      [4, 2],
      [9, 4],
    ]);
    // One column: no delimiter anywhere, every line a record of one field.
    const single = ['id', ...Array.from({ length: 2000 }, (_, i) => String(i))].join('\n');
    expect(checkCsv(single, {}, { tolerant: true })).toMatchObject({ header: ['id'], records: 2000, ragged: [] });
    expect(checkCsv('id\n1\n2,3\n4', {}, { tolerant: true }).ragged?.map((x) => x.line)).toEqual([3]);
  });
});

describe('batching', () => {
  it('chunks by maxFiles and maxBytes; a file larger than maxBytes goes alone', () => {
    const f = (key: string, size: number) => ({ key, size, lastModified: 0 });
    const batches = chunk([f('a', 10), f('b', 10), f('c', 100), f('d', 5), f('e', 5), f('g', 5)], { maxFiles: 2, maxBytes: 50 });
    expect(batches.map((b) => b.map((x) => x.key).join(''))).toEqual(['ab', 'c', 'de', 'g']);
  });
});

describe('directory-scan trigger', () => {
  it('reports a file once its size and mtime held still for one interval, and only once', async () => {
    const { dir, cleanup } = tempDir('lakelet-scan-');
    const seen: FileArrival[] = [];
    const trigger = new DirectoryScanTrigger([dir], 150);
    try {
      writeFileSync(join(dir, 'growing.csv'), 'id\n');
      await trigger.start((files) => seen.push(...files));
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 100));
        appendFileSync(join(dir, 'growing.csv'), `${i}\n`);
      }
      expect(seen).toEqual([]);
      await new Promise((r) => setTimeout(r, 600));
      expect(seen.map((f) => [f.key, f.size])).toEqual([['growing.csv', 11]]);
    } finally {
      await trigger.close();
      cleanup();
    }
  });
});

describe('DuckDB read errors in a quarantine document', () => {
  it('a message quoting a megabyte-long record keeps its start and its end, not the megabyte', () => {
    const record = `10,${'x'.repeat(1_000_000)},100`;
    const err = duckdbReadError('csv', new Error(`Invalid Input Error: CSV Error on Line: 2\nOriginal Line: ${record}\nMaximum line size of 2000000 bytes exceeded. Actual Size:1000008 bytes.`));
    expect(err.detail.length).toBeLessThan(700);
    expect(err.detail).toMatch(/^Invalid Input Error: CSV Error on Line: 2 Original Line: 10,x+ … x+,100 Maximum line size of 2000000 bytes exceeded\. Actual Size:1000008 bytes\.$/);
    expect(err.position).toEqual({ line: 2, column: 1 });
  });
});
