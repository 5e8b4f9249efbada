import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaTable } from '../../src/engine/table.ts';
import { repairJson } from '../../src/pipeline/json-repair.ts';
import { parseJsonStrict, stringifyJson } from '../../src/pipeline/json-text.ts';
import { Workspace } from '../support/workspace.ts';
import { pipelineYaml, type PipelineKeys } from '../support/pipeline-yaml.ts';

/**
 * Malformed inputs found by the input audit: each is loaded exactly, or kept as a bad record (or a
 * quarantined file) saying what is wrong and what to do — never dropped, unwrapped or rewritten
 * silently, and the other records and files still load.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const yaml = (format: string, keys: PipelineKeys = {}) => pipelineYaml({ format, ...keys }, { stateDir: './state' });

function badRecords(w: Workspace, name: string): Record<string, unknown>[] {
  const f = w.files('quarantine').find((x) => x.endsWith(`/${name}.bad-records.ndjson`));
  if (!f) throw new Error(`no bad records for ${name}: ${w.files('quarantine').join(', ')}`);
  return readFileSync(join(w.dir, 'quarantine', f), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
}

/** The Delta types of a table's top-level columns, by name. */
async function deltaTypes(w: Workspace, rel: string): Promise<Record<string, unknown>> {
  const t = await DeltaTable.forPath(join(w.dir, rel));
  try {
    return Object.fromEntries((await t.latest()).schema.fields.map((f) => [f.name, f.type]));
  } finally {
    t.close();
  }
}

describe('an NDJSON line is one object', () => {
  it('a line holding an array is a bad record with a hint, not rows; the other lines and files load', async () => {
    ws = new Workspace(yaml('ndjson', { badRecordsLimit: '50%' }));
    ws.land('landing/a.ndjson', '{"id":1,"v":"a"}\n[{"id":2,"v":"b"},{"id":3,"v":"c"}]\n{"id":4,"v":"d"}\n[1,2,3]\n42\n"x"\n{"id":6,"v":"f"}\n{"id":7,"v":"g"}\n');
    ws.land('landing/b.ndjson', '{"id":5,"v":"e"}\n');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ staged: 2, quarantined: 0, rowsInserted: 5, rowsRejected: 4 });
    expect((await ws.rows('tables/target', 'id')).map((r) => r.id)).toEqual(['1', '4', '5', '6', '7']);
    expect(badRecords(ws, 'a.ndjson')).toEqual([
      { file: 'a.ndjson', line: 2, column: 1, kind: 'json', error: expect.stringMatching(/^expected one JSON object per line, found an array of 2 values \(.*format: json/), text: '[{"id":2,"v":"b"},{"id":3,"v":"c"}]' },
      { file: 'a.ndjson', line: 4, column: 1, kind: 'json', error: expect.stringMatching(/^expected one JSON object per line, found an array of 3 values/), text: '[1,2,3]' },
      { file: 'a.ndjson', line: 5, column: 1, kind: 'json', error: expect.stringMatching(/^expected one JSON object per line, found the number 42 \(/), text: '42' },
      { file: 'a.ndjson', line: 6, column: 1, kind: 'json', error: expect.stringMatching(/^expected one JSON object per line, found the string "x" \(/), text: '"x"' },
    ]);
  });

  it('a JSON document that is null, or whose records are all {}, is quarantined saying so; a file with no good record is not told to raise badRecordsLimit', async () => {
    ws = new Workspace(yaml('json'));
    ws.land('landing/null.json', 'null\n');
    ws.land('landing/empty.json', '[{}, {}]');
    ws.land('landing/good.json', '[{"id": 1, "v": "a"}]');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 3, staged: 1, quarantined: 2 });
    expect(ws.quarantineError('null.json')).toMatchObject({ kind: 'json', error: 'expected JSON objects (one per record), found null', hint: expect.stringContaining('an array of objects') });
    expect(ws.quarantineError('empty.json')).toMatchObject({ kind: 'json', error: 'every record is an empty object {} (2): there are no values to load' });
    ws.cleanup();

    ws = new Workspace(yaml('ndjson'));
    ws.land('landing/one.ndjson', '{"id": 1, "v": "a",}\n');
    await ws.run();
    const one = ws.quarantineError('one.ndjson') as { error: string; hint: string };
    expect(one.error).toMatch(/^its only record is bad \(line 1\)/);
    expect(one.hint).not.toContain('badRecordsLimit');
  });

  it('classic Mac line ends (CR alone) split records as LF does', async () => {
    ws = new Workspace(yaml('ndjson'));
    ws.land('landing/mac.ndjson', '{"id":1,"v":"a"}\r{"id":2,"v":"b"}\r');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ staged: 1, quarantined: 0, rowsInserted: 2 });
    expect((await ws.rows('tables/target', 'id')).map((r) => r.v)).toEqual(['a', 'b']);
  });

  it('with badRecords: fail-file the file is quarantined, naming the line and what to do', async () => {
    ws = new Workspace(yaml('ndjson', { badRecords: 'fail-file' }));
    ws.land('landing/a.ndjson', '{"id":1}\n[{"id":2},{"id":3}]\n');
    ws.land('landing/b.ndjson', '{"id":5}\n');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ staged: 1, quarantined: 1, rowsInserted: 1 });
    expect(ws.quarantineError('a.ndjson')).toMatchObject({
      kind: 'json',
      line: 2,
      error: 'expected one JSON object per line, found an array of 2 values',
      hint: expect.stringContaining('each object on a line of its own'),
    });
    expect(ws.files('quarantine').filter((f) => f.endsWith('/a.ndjson'))).toHaveLength(1);
  });
});

describe('a JSON object or array in a text column is stored as JSON text', () => {
  it('into a column the target has as a string: {"a":1}, not DuckDB struct text', async () => {
    ws = new Workspace(yaml('ndjson'));
    ws.land('landing/1.ndjson', '{"id":1,"s":"plain"}\n');
    await ws.run();
    // Each file's column has one type (a STRUCT, a list, a list of STRUCTs), not JSON.
    ws.land('landing/2.ndjson', '{"id":2,"s":{"a":1,"b":"q","c":[true,null]}}\n');
    ws.land('landing/3.ndjson', '{"id":3,"s":[1,2]}\n');
    ws.land('landing/4.ndjson', '{"id":4,"s":[{"k":"v"}]}\n');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ staged: 3, quarantined: 0, rowsInserted: 3, rowsRejected: 0 });
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.id, r.s])).toEqual([
      ['1', 'plain'],
      ['2', '{"a":1,"b":"q","c":[true,null]}'],
      ['3', '[1,2]'],
      ['4', '[{"k":"v"}]'],
    ]);
  });

  it('a column mixing strings and objects in one file: strings as they are, objects as JSON text', async () => {
    ws = new Workspace(yaml('ndjson'));
    ws.land('landing/1.ndjson', '{"id":1,"s":"x"}\n{"id":2,"s":{"a":1}}\n{"id":3,"s":["b",2]}\n{"id":4,"s":null}\n');
    expect((await ws.run()).totals).toMatchObject({ staged: 1, rowsInserted: 4, rowsRejected: 0 });
    expect((await ws.rows('tables/target', 'id')).map((r) => r.s)).toEqual(['x', '{"a":1}', '["b",2]', null]);
    // A later file's plain strings load into the column as they are too.
    ws.land('landing/2.ndjson', '{"id":5,"s":"y"}\n{"id":6,"s":{"z":[]}}\n');
    await ws.run();
    expect((await ws.rows('tables/target', 'id')).map((r) => r.s).slice(4)).toEqual(['y', '{"z":[]}']);
  });
});

describe('integers too big for BIGINT or a double keep every digit', () => {
  const big = '123456789012345678901234567890';

  it('CSV: a column with a value beyond BIGINT is DECIMAL(38,0), exactly; beyond 38 digits it is text', async () => {
    ws = new Workspace(yaml('csv'));
    ws.land('landing/a.csv', `id,v,w\n1,5,1\n2,${big},2\n3,9223372036854775808,${big}0000000000\n4,-9223372036854775809,1.5\n`);
    expect((await ws.run()).totals).toMatchObject({ staged: 1, quarantined: 0, rowsInserted: 4, rowsRejected: 0 });
    expect((await ws.rows('tables/target', 'id')).map((r) => [String(r.v), r.w])).toEqual([
      ['5', '1'],
      [big, '2'],
      ['9223372036854775808', `${big}0000000000`],
      ['-9223372036854775809', '1.5'],
    ]);
    expect(await deltaTypes(ws, 'tables/target')).toMatchObject({ v: 'decimal(38,0)', w: 'string' });
  });

  it('CSV: into an established BIGINT or DOUBLE column such a value is a bad record, never rounded', async () => {
    ws = new Workspace(yaml('csv', { badRecordsLimit: '50%' }));
    ws.land('landing/1.csv', 'id,i,d\n1,1,1.5\n');
    await ws.run();
    ws.land('landing/2.csv', 'id,i,d\n2,2,2.5\n');
    // Read with 2.csv's types, in one statement (laid out as 2.csv).
    ws.land('landing/3.csv', `id,i,d\n3,3,${big}\n13,13,13.5\n`);
    ws.land('landing/4.csv', 'id,i,d\n4,4,4.5\n');
    // Detected on its own (another column order): i is DECIMAL(38,0) in this file.
    ws.land('landing/5.csv', `id,d,i\n5,5.5,${big}\n6,6.5,6\n`);
    // Read with 5.csv's types (i DECIMAL(38,0)): 1.5 is not an integer to round.
    ws.land('landing/6.csv', 'id,d,i\n7,7.5,1.5\n8,8.5,8\n');
    expect((await ws.run()).totals).toMatchObject({ staged: 5, quarantined: 0, rowsRejected: 3 });
    // Read alone with 9.csv's types.
    ws.land('landing/9.csv', 'id,i,d\n9,9,9.5\n');
    ws.land('landing/10.csv', `id,i,d\n10,10,10.5\n11,11,-${big}\n`);
    ws.land('landing/12.csv', 'id,d,i\n12,12.5,12\n');
    expect((await ws.run()).totals).toMatchObject({ staged: 3, quarantined: 0, rowsRejected: 1 });
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.id, r.i, r.d])).toEqual([
      ['1', '1', 1.5],
      ['2', '2', 2.5],
      ['4', '4', 4.5],
      ['6', '6', 6.5],
      ['8', '8', 8.5],
      ['9', '9', 9.5],
      ['10', '10', 10.5],
      ['12', '12', 12.5],
      ['13', '13', 13.5],
    ]);
    const fits = (value: string, column: string) => `value ${value} does not fit column ${column} without loss`;
    expect(badRecords(ws, '3.csv')).toEqual([expect.objectContaining({ line: 2, kind: 'cast', error: fits(big, 'd DOUBLE') })]);
    expect(badRecords(ws, '5.csv')).toEqual([expect.objectContaining({ line: 2, kind: 'cast', error: fits(big, 'i BIGINT') })]);
    expect(badRecords(ws, '6.csv')).toEqual([expect.objectContaining({ line: 2, kind: 'cast', error: fits('1.5', 'i BIGINT') })]);
    expect(badRecords(ws, '10.csv')).toEqual([expect.objectContaining({ line: 3, kind: 'cast', error: fits(`-${big}`, 'd DOUBLE') })]);
  });

  it('NDJSON: a number beyond a double (1e400) is a bad record naming it, not a NULL', async () => {
    ws = new Workspace(yaml('ndjson', { badRecordsLimit: '50%' }));
    ws.land('landing/a.ndjson', '{"id":1,"v":1.5}\n{"id":2,"v":1e400}\n{"id":3,"v":-2.5}\n');
    expect((await ws.run()).totals).toMatchObject({ staged: 1, rowsInserted: 2, rowsRejected: 1 });
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.id, Number(r.v)])).toEqual([['1', 1.5], ['3', -2.5]]);
    expect(badRecords(ws, 'a.ndjson')).toEqual([expect.objectContaining({ line: 2, kind: 'json', error: expect.stringContaining("number 1e400 is beyond a double's range") })]);
  });

  it('CSV: a record longer than DuckDB\'s 2 MB line limit (a 5 MB field) loads whole, beside short ones; so does a file with classic Mac (CR) line ends', async () => {
    ws = new Workspace(yaml('csv'));
    const long = 'x'.repeat(5_000_000);
    ws.land('landing/a.csv', `id,v\n1,${long}\n2,short\n`);
    ws.land('landing/b.csv', 'id,v\r3,c\r4,d\r');
    expect((await ws.run()).totals).toMatchObject({ staged: 2, quarantined: 0, waiting: 0, rowsInserted: 4, rowsRejected: 0 });
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.id, String(r.v).length])).toEqual([['1', 5_000_000], ['2', 5], ['3', 1], ['4', 1]]);
  });

  it('NDJSON: half of a surrogate pair (\\ud800 alone, or a low half first) is a bad record naming it; a whole pair loads as its character', async () => {
    ws = new Workspace(yaml('ndjson', { badRecordsLimit: '75%' }));
    ws.land('landing/a.ndjson', '{"id":1,"v":"\\ud83d\\ude00"}\n{"id":2,"v":"x\\ud800"}\n{"id":3,"v":"\\udc00y"}\n{"id":4,"v":"\\ud800\\u0041"}\n');
    expect((await ws.run()).totals).toMatchObject({ staged: 1, rowsInserted: 1, rowsRejected: 3 });
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.id, r.v])).toEqual([['1', '\u{1F600}']]);
    const half = (escape: string, line: number) => expect.objectContaining({ line, kind: 'json', error: expect.stringContaining(`${escape} is half of a UTF-16 surrogate pair without its other half`) });
    expect(badRecords(ws, 'a.ndjson')).toEqual([half('\\ud800', 2), half('\\udc00', 3), half('\\ud800', 4)]);
  });

  it('NDJSON: a key twice in one object (at the top or nested) is a bad record naming it, not the last value silently', async () => {
    ws = new Workspace(yaml('ndjson', { badRecordsLimit: '75%' }));
    ws.land('landing/a.ndjson', '{"id":1,"v":"a"}\n{"id":2,"v":"b","id":9}\n{"id":3,"v":{"x":1,"x":2}}\n');
    expect((await ws.run()).totals).toMatchObject({ staged: 1, rowsInserted: 1, rowsRejected: 2 });
    expect((await ws.rows('tables/target', 'id')).map((r) => r.id)).toEqual(['1']);
    const twice = (key: string, line: number) => expect.objectContaining({ line, kind: 'json', error: expect.stringContaining(`the key "${key}" appears twice in one object`) });
    expect(badRecords(ws, 'a.ndjson')).toEqual([twice('id', 2), twice('x', 3)]);
  });

  it('NDJSON: a big integer beside 1e300, or in a nested double field beside a fraction: loaded as text, digits kept', async () => {
    ws = new Workspace(yaml('ndjson'));
    ws.land('landing/a.ndjson', `{"id":1,"e":${big},"x":{"y":9007199254740993}}\n{"id":2,"e":1e300,"x":{"y":1.5}}\n`);
    expect((await ws.run()).totals).toMatchObject({ staged: 1, quarantined: 0, rowsInserted: 2, rowsRejected: 0 });
    const rows = await ws.rows('tables/target', 'id');
    expect(rows.map((r) => r.e === null ? null : String(r.e))[0]).toBe(big);
    expect(Number(rows[1].e)).toBe(1e300);
    expect(rows.map((r) => r.x)).toEqual(['{"y":9007199254740993}', '{"y":1.5}']);
    expect(await deltaTypes(ws, 'tables/target')).toMatchObject({ e: 'string', x: 'string' });
  });

  it('NDJSON: the literal reaches the table as written (above 2^53, beyond BIGINT, beyond 38 digits, nested)', async () => {
    ws = new Workspace(yaml('ndjson', { badRecordsLimit: '50%' }));
    ws.land(
      'landing/a.ndjson',
      [
        `{"id":1,"v":5,"n":9007199254740993,"w":1,"x":{"y":9007199254740993},"z":{"y":[1.5]}}`,
        `{"id":2,"v":${big},"n":-9007199254740993,"w":${big}0000000000,"x":{"y":1},"z":{"y":[${big}]}}`,
        `{"id":3,"v":null,"n":1,"w":2.5,"x":{"y":2},"z":null}`,
      ].join('\n') + '\n',
    );
    expect((await ws.run()).totals).toMatchObject({ staged: 1, rowsInserted: 3, rowsRejected: 0 });
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.v === null ? null : String(r.v), String(r.n), r.w, String((r.x as { y: unknown }).y), r.z])).toEqual([
      ['5', '9007199254740993', '1', '9007199254740993', '{"y":[1.5]}'],
      [big, '-9007199254740993', `${big}0000000000`, '1', `{"y":[${big}]}`],
      [null, '1', '2.5', '2', null],
    ]);
    // A nested double field cannot hold it: that column is kept as its JSON text.
    expect(await deltaTypes(ws, 'tables/target')).toMatchObject({ v: 'decimal(38,0)', w: 'string', z: 'string' });
    // Into the established DECIMAL(38,0) column a fraction is a bad record; a big integer loads.
    ws.land('landing/b.ndjson', `{"id":4,"v":1.5}\n{"id":5,"v":-${big}}\n`);
    const s = await ws.run();
    expect(s.totals).toMatchObject({ quarantined: 0, rowsInserted: 1, rowsRejected: 1 });
    expect(badRecords(ws, 'b.ndjson')).toEqual([expect.objectContaining({ line: 1, kind: 'cast', error: 'value 1.5 does not fit column v DECIMAL(38,0) without loss' })]);
    expect(String((await ws.rows('tables/target', 'id', "id = '5'"))[0].v)).toBe(`-${big}`);
  });

  it('the JSON reader keeps such literals as written, repaired pseudo-JSON too', () => {
    const doc = `{"a": ${big}, "b": [-9007199254740993, 9007199254740991, 1.5e3], "c": {"d": 12345678901234567890}}`;
    expect(stringifyJson(parseJsonStrict(doc, { exactIntegers: true }))).toBe(`{"a":${big},"b":[-9007199254740993,9007199254740991,1500],"c":{"d":12345678901234567890}}`);
    const repaired = repairJson(`{'a': ${big}, 'b': '[${big}]', 'c': None,}`, { exactIntegers: true });
    expect(stringifyJson(repaired.value)).toBe(`{"a":${big},"b":[${big}],"c":null}`);
    // Without the option a document reads as JSON.parse reads it.
    expect(parseJsonStrict(doc)).toEqual(JSON.parse(doc));
  });
});
