import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { csv, Workspace } from '../support/workspace.ts';
import { lakeletYaml, PIPELINE_DEFAULTS, pipelineYaml, type PipelineKeys } from '../support/pipeline-yaml.ts';
import { lakelet } from '../support/cli.ts';

/**
 * Issue 8, points 2, 3 and 5: a file's records and values become stage rows one by one. A valid file
 * is never rejected because of its neighbours; one bad record does not sink a file (badRecords);
 * epoch units are never guessed wrong silently.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const yaml = (format: string, keys: PipelineKeys = {}) => pipelineYaml({ format, ...keys }, { stateDir: './state' });

function quarantined(w: Workspace, suffix: string): string | undefined {
  const f = w.files('quarantine').find((x) => x.endsWith(suffix));
  return f ? readFileSync(join(w.dir, 'quarantine', f), 'utf8') : undefined;
}

function badRecords(w: Workspace, name: string): Record<string, unknown>[] {
  const text = quarantined(w, `/${name}.bad-records.ndjson`);
  if (text === undefined) throw new Error(`no bad records for ${name}: ${w.files('quarantine').join(', ')}`);
  return text.trimEnd().split('\n').map((l) => JSON.parse(l));
}


const ndjson = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

describe('a valid file is never quarantined because of its neighbours', () => {
  const accounts = (rows: (string | number)[][]) => csv('id,account_balance', rows);

  it('a header-only CSV first in the batch fixes no type; the files after it load with their own', async () => {
    ws = new Workspace(yaml('csv'));
    ws.land('landing/0.csv', 'id,account_balance\n');
    ws.land('landing/1.csv', accounts([[1, '44.60'], [2, '10.25']]));
    ws.land('landing/2.csv', accounts([[3, '44.60']]));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 3, staged: 3, quarantined: 0, rowsInserted: 3, rowsRejected: 0 });
    expect(await ws.rows('tables/target', 'id')).toEqual([
      { id: '1', account_balance: 44.6 },
      { id: '2', account_balance: 10.25 },
      { id: '3', account_balance: 44.6 },
    ]);
  });

  it('with an existing DOUBLE column: header-only then valid files load (44.60 into DOUBLE is lossless)', async () => {
    ws = new Workspace(yaml('csv'));
    ws.land('landing/a.csv', accounts([[1, '1.5']]));
    await ws.run();
    ws.land('landing/b.csv', 'id,account_balance\n');
    ws.land('landing/c.csv', accounts([[2, '44.60']]));
    ws.land('landing/d.csv', accounts([[3, '7.10']]));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ staged: 3, quarantined: 0, rowsInserted: 2 });
    expect(ws.files('quarantine')).toEqual([]);
    expect((await ws.rows('tables/target', 'id')).map((r) => r.account_balance)).toEqual([1.5, 44.6, 7.1]);
  });

  it('text into a typed column: values are compared in a domain that holds both, not as spellings', async () => {
    ws = new Workspace(yaml('ndjson', { badRecordsLimit: 1 }));
    // The first file establishes DOUBLE, BIGINT, DATE, TIMESTAMP, BOOLEAN.
    ws.land('landing/1.ndjson', ndjson([{ id: 1, d: 1.5, i: 1, dt: '2024-01-01', ts: '2024-01-01 00:00:00', b: true }]));
    await ws.run();
    // Every column of this file is text (the last record makes sure of it).
    ws.land(
      'landing/2.ndjson',
      ndjson([
        { id: 2, d: '44.60', i: '007', dt: '2024-01-05', ts: '2024-01-05 10:00:00.000', b: 'yes' },
        { id: 3, d: 'x', i: '1', dt: '2024-01-05', ts: '2024-01-05 10:00:00', b: 'true' },
        { id: 4, d: '1', i: '1.5', dt: '2024-01-05', ts: '2024-01-05 10:00:00', b: 'true' },
        { id: 5, d: '1', i: '1', dt: '2024-01-05 10:00:00', ts: '2024-01-05 10:00:00', b: 'true' },
        { id: 6, d: '1', i: '1', dt: '2024-01-05', ts: '2024-01-05T10:00:00+02:00', b: 'true' },
        { id: 7, d: '1', i: '1', dt: '2024-01-05', ts: '2024-01-05 10:00:00.123456789', b: 'true' },
        { id: 8, d: '2.50', i: '2.0', dt: '2024-01-06', ts: '2024-01-06', b: 'x' },
      ]),
    );
    await ws.run();
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.id, r.d, r.i, r.dt, r.ts, r.b])).toEqual([
      ['1', 1.5, '1', '2024-01-01', '2024-01-01 00:00:00', true],
      ['2', 44.6, '7', '2024-01-05', '2024-01-05 10:00:00', true],
    ]);
    const bad = badRecords(ws, '2.ndjson');
    expect(bad.map((b) => [b.line, b.kind])).toEqual([[2, 'cast'], [3, 'cast'], [4, 'cast'], [5, 'cast'], [6, 'cast'], [7, 'cast']]);
    expect(bad.map((b) => b.error)).toEqual([
      'value x does not fit column d DOUBLE without loss',
      'value 1.5 does not fit column i BIGINT without loss',
      'value 2024-01-05 10:00:00 does not fit column dt DATE without loss',
      'value 2024-01-05T10:00:00+02:00 does not fit column ts TIMESTAMP without loss',
      'value 2024-01-05 10:00:00.123456789 does not fit column ts TIMESTAMP without loss',
      // '2.50' into DOUBLE and '2.0' into BIGINT are fine; 'x' is no boolean.
      'value x does not fit column b BOOLEAN without loss',
    ]);
    expect(JSON.parse(String(bad[0].text))).toMatchObject({ id: 3, d: 'x' });
  });
});

describe('a number meeting a date or timestamp column', () => {
  it('is a bad record whose error names the epoch transform', async () => {
    ws = new Workspace(yaml('ndjson', { badRecordsLimit: 1 }));
    ws.land('landing/1.ndjson', ndjson([{ id: 1, ts: '2024-01-01 00:00:00', n: 1 }]));
    await ws.run();
    // Epoch seconds where the table has a TIMESTAMP: every record of the file is bad.
    ws.land('landing/2.ndjson', ndjson([{ id: 2, ts: 1704153600, n: 2 }]));
    // A number that does not fit a number column gets no such hint.
    ws.land('landing/3.ndjson', ndjson([{ id: 3, ts: '2024-01-02 00:00:00', n: 3 }, { id: 4, ts: '2024-01-02 00:00:00', n: 1.5 }]));
    await ws.run();
    const error = JSON.parse(quarantined(ws, '/2.ndjson.error.json')!);
    expect(error.error).toBe(
      'its only record is bad (line 1): value 1704153600 does not fit column ts TIMESTAMP without loss (a number: if it is epoch time, add transforms: { ts: { epoch: auto } } to the pipeline in lakelet.yml)',
    );
    expect(badRecords(ws, '3.ndjson').map((b) => b.error)).toEqual(['value 1.5 does not fit column n BIGINT without loss']);
  });
});

describe('badRecords: quarantine-file (the default)', () => {
  it('an NDJSON file with 99 good lines and one invalid line: 99 rows load, the bad line goes to <file>.bad-records.ndjson', async () => {
    ws = new Workspace(yaml('ndjson'));
    const lines: string[] = [];
    for (let i = 1; i <= 100; i++) lines.push(i === 42 ? '{"id": 42, "v": "broken",}' : JSON.stringify({ id: i, v: `v${i}` }));
    ws.land('landing/a.ndjson', lines.join('\n') + '\n');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 1, staged: 1, quarantined: 0, rowsStaged: 99, rowsInserted: 99, rowsRejected: 1 });
    const target = await ws.rows('tables/target', 'id');
    expect(target).toHaveLength(99);
    expect(target.some((r) => r.id === '42')).toBe(false);
    // The file itself is archived; only its bad record is in quarantine.
    expect(ws.files('archive').filter((f) => f.endsWith('/a.ndjson'))).toHaveLength(1);
    expect(ws.files('quarantine').map((f) => f.split('/').pop())).toEqual(['a.ndjson.bad-records.ndjson']);
    expect(badRecords(ws, 'a.ndjson')).toEqual([
      { file: 'a.ndjson', line: 42, column: 26, kind: 'json', error: 'invalid JSON: trailing comma before }', text: '{"id": 42, "v": "broken",}' },
    ]);
    const [log] = await ws.log();
    expect(log).toMatchObject({ file_name: 'a.ndjson', status: 'merged', records: '99', rows_rejected: '1' });
    expect(log.error).toContain('1 bad record left out');
    expect(log.error).toContain('(line 42)');
  });

  it('a value nested deeper than 15 levels is a bad record (NDJSON) or quarantines its JSON document; files beside it load, the table stays readable, the run goes on', async () => {
    const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    ws = new Workspace(lakeletYaml({ n: { ...PIPELINE_DEFAULTS, format: 'ndjson', landing: './landing/n', stage: './tables/n_stage', target: './tables/n' }, j: { ...PIPELINE_DEFAULTS, format: 'json', landing: './landing/j', stage: './tables/j_stage', target: './tables/j' } }, { stateDir: './state' }));
    // 15 levels inside the record load; 16, 200 and 10,000 do not. (DuckDB's Parquet reader sets
    // up a nested column in time that doubles with each level: at 99 a read of the table never
    // ended; ~200 failed the whole batch with a Binder Error; 10,000 overflowed the parser's stack.)
    // (With 30 more good lines, the 3 bad ones stay under badRecordsLimit's 10%.)
    const more = Array.from({ length: 30 }, (_, i) => `{"id": ${10 + i}}`);
    ws.land('landing/n/a.ndjson', [`{"id": 1, "deep": ${nest(15)}}`, `{"id": 2, "deep": ${nest(16)}}`, `{"id": 3, "deep": ${nest(200)}}`, `{"id": 4, "o": ${'{"a": '.repeat(10_000)}1${'}'.repeat(10_000)}}`, `{"id": 5}`, ...more].join('\n') + '\n');
    ws.land('landing/n/b.ndjson', '{"id": 6}\n');
    ws.land('landing/j/deep.json', `[{"id": 7}, {"id": 8, "deep": ${nest(2_000)}}]`);
    ws.land('landing/j/also-deep.json', `[{"id": 9}, {"id": 10, "deep": ${nest(20)}}]`);
    ws.land('landing/j/fine.json', '[{"id": 11}]');
    const run = await lakelet(['run', '--once', '-c', ws.configFile, '--json']);
    expect(run.code, run.stderr).toBe(3);
    expect(JSON.parse(run.stdout).totals).toMatchObject({ files: 5, merged: 3, quarantined: 2, rowsRejected: 3 });
    expect((await ws.rows('tables/n', 'id')).map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual([1, 5, 6, ...more.map((_, i) => 10 + i)]);
    expect((await ws.rows('tables/j', 'id')).map((r) => Number(r.id))).toEqual([11]);
    const bad = badRecords(ws, 'a.ndjson');
    expect(bad.map((r) => r.line)).toEqual([2, 3, 4]);
    expect(String(bad[0].error)).toBe('a value nests 16 levels deep (arrays and objects inside the record; at most 15 are loaded) (flatten it, or send the value as a JSON string ("value": "[[…]]"), which lakelet stores as text)');
    // Past 100 levels the parser stops where the 101st opens.
    expect(String(bad[1].error)).toMatch(/^nested more than 100 levels deep \(arrays and objects; a record may nest at most 15 below itself\) \(flatten it/);
    expect(String(bad[2].error)).toMatch(/^nested more than 100 levels deep/);
    expect(JSON.parse(quarantined(ws, '/deep.json.error.json')!)).toMatchObject({ kind: 'json', error: 'nested more than 100 levels deep (arrays and objects; a record may nest at most 15 below itself)', line: 1 });
    expect(JSON.parse(quarantined(ws, '/also-deep.json.error.json')!)).toMatchObject({ kind: 'json', error: 'record 2: a value nests 20 levels deep (arrays and objects inside the record; at most 15 are loaded)' });
    // The table with the 15-level column reads (through the CLI, as a user would).
    const read = await lakelet(['read', join(ws.dir, 'tables/n'), '--format', 'ndjson', '--where', 'id = 1']);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toContain(`"deep":${nest(15)}`);
  }, 60_000);

  it('a CSV row with the wrong field count and a value that does not cast are bad records; the other rows load', async () => {
    ws = new Workspace(yaml('csv', { transforms: { n: { cast: 'INTEGER' } } }));
    const rows = Array.from({ length: 20 }, (_, i) => `${i + 1},${i}`);
    rows[4] = '5,4,extra';
    rows[9] = '10,ten';
    ws.land('landing/a.csv', ['id,n', ...rows].join('\n') + '\n');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ staged: 1, quarantined: 0, rowsInserted: 18, rowsRejected: 2 });
    expect((await ws.rows('tables/target', 'id')).map((r) => r.id)).not.toContain('5');
    expect(badRecords(ws, 'a.csv')).toEqual([
      { file: 'a.csv', line: 6, column: 1, kind: 'csv', error: 'expected 2 fields (as in line 1) but found 3', text: '5,4,extra' },
      { file: 'a.csv', line: 11, kind: 'cast', error: "column 'n': value ten does not cast to INTEGER (transforms.n.cast)", text: '{"id":10,"n":"ten"}' },
    ]);
    // The stage holds only the good rows.
    expect((await ws.rows('tables/stage', '_row_number')).map((r) => r.id)).toHaveLength(18);
  });

  it('a JSON document has no lines: its bad records say their record number', async () => {
    ws = new Workspace(yaml('json', { transforms: { n: { cast: 'INTEGER' } } }));
    ws.land('landing/a.json', JSON.stringify(Array.from({ length: 10 }, (_, i) => ({ id: i + 1, n: i === 6 ? 'seven' : String(i) }))));
    expect((await ws.run()).totals).toMatchObject({ rowsInserted: 9, rowsRejected: 1 });
    expect(badRecords(ws, 'a.json')).toEqual([
      { file: 'a.json', record: 7, kind: 'cast', error: "column 'n': value seven does not cast to INTEGER (transforms.n.cast)", text: '{"id":7,"n":"seven"}' },
    ]);
  });

  it('a file whose bad share is above badRecordsLimit, or with no good record, is quarantined whole', async () => {
    const file = ndjson([{ id: 1 }, '{oops', { id: 3 }, { id: 4 }, '[1]', { id: 6 }, { id: 7 }, { id: 8 }, { id: 9 }, { id: 10 }]);
    ws = new Workspace(yaml('ndjson'));
    ws.land('landing/a.ndjson', file);
    ws.land('landing/b.ndjson', ndjson(['{oops', 'nope']));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ staged: 0, quarantined: 2 });
    expect(ws.quarantineError('a.ndjson')).toMatchObject({
      kind: 'json',
      line: 2,
      error: expect.stringMatching(/^2 of 10 records are bad, more than badRecordsLimit \(10%\); the first \(line 2\): invalid JSON/),
      hint: expect.stringContaining('badRecordsLimit'),
    });
    expect(ws.quarantineError('b.ndjson')).toMatchObject({ kind: 'json', line: 1, error: expect.stringMatching(/^all 2 of 2 records are bad/) });
    expect(quarantined(ws, '.bad-records.ndjson')).toBeUndefined();
    ws.cleanup();

    // '25%' lets the same file in.
    ws = new Workspace(yaml('ndjson', { badRecordsLimit: '25%' }));
    ws.land('landing/a.ndjson', file);
    expect((await ws.run()).totals).toMatchObject({ staged: 1, quarantined: 0, rowsInserted: 8, rowsRejected: 2 });
    expect(badRecords(ws, 'a.ndjson').map((b) => [b.line, b.error])).toEqual([
      [2, expect.stringContaining('invalid JSON')],
      [5, expect.stringMatching(/^expected one JSON object per line, found an array of 1 value \(/)],
    ]);
  });

  it('a crash before the stage commit: the redo writes the same bad records and stages the same rows', async () => {
    for (const point of ['after-manifest', 'after-stage-commit']) {
      const w = new Workspace(yaml('ndjson', { badRecordsLimit: 0.5, transforms: { n: { cast: 'INTEGER' } } }));
      try {
        w.land('landing/a.ndjson', ndjson([{ id: 1, n: '1' }, '{bad', { id: 3, n: 'x' }, { id: 4, n: '4' }]));
        const args = ['run', '--once', '-c', w.configFile, '--json'];
        expect((await lakelet(args, { env: { LAKELET_CRASH_AT: point } })).signal).toBe('SIGKILL');
        const again = await lakelet(args);
        expect(again.stderr).not.toContain('batch.failed');
        expect((await w.rows('tables/target', 'id')).map((r) => [r.id, r.n])).toEqual([['1', 1], ['4', 4]]);
        expect((await w.rows('tables/stage', 'id')).length).toBe(2);
        expect(badRecords(w, 'a.ndjson').map((b) => [b.line, b.kind])).toEqual([[2, 'json'], [3, 'cast']]);
        const log = await w.log();
        expect(log).toHaveLength(1);
        expect(log[0]).toMatchObject({ status: 'merged', records: '2', rows_rejected: '2' });
      } finally {
        w.cleanup();
      }
    }
  });
});

describe('badRecords: rescue and fail-file', () => {
  it('rescue: an unreadable record is staged with its text in _rescued_data (not merged); a value that does not fit is rescued and merged', async () => {
    ws = new Workspace(yaml('ndjson', { badRecords: 'rescue', badRecordsLimit: 0.5, transforms: { n: { cast: 'INTEGER' } } }));
    ws.land('landing/a.ndjson', ndjson([{ id: 1, n: '1' }, '{"id": 2, "n": 2', { id: 3, n: 'x' }, { id: 4, n: '4' }]));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ staged: 1, quarantined: 0, rowsStaged: 4, rowsInserted: 3, rowsRejected: 1 });
    const stage = await ws.rows('tables/stage', '_row_number');
    expect(stage.map((r) => [r.id, r.n, r._rescued_data])).toEqual([
      ['1', 1, null],
      ['3', null, '{"n":"x"}'],
      ['4', 4, null],
      [null, null, JSON.stringify({ _corrupt_record: '{"id": 2, "n": 2', _error: "json: invalid JSON: unexpected end of input, expected ',' or '}'", _line: 2 })],
    ]);
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.id, r.n, r._rescued_data])).toEqual([
      ['1', 1, null],
      ['3', null, '{"n":"x"}'],
      ['4', 4, null],
    ]);
    expect(ws.files('quarantine')).toEqual([]);
    const [log] = await ws.log();
    expect(log).toMatchObject({ status: 'merged', records: '4', rows_rejected: '1', rows_rescued: '2' });
    expect(log.error).toContain('2 bad records staged with _rescued_data');
  });

  it("fail-file: one bad line quarantines the whole file (the old behaviour)", async () => {
    ws = new Workspace(yaml('ndjson', { badRecords: 'fail-file' }));
    const lines = Array.from({ length: 100 }, (_, i) => JSON.stringify({ id: i + 1 }));
    lines[41] = '{"id": 42,}';
    ws.land('landing/a.ndjson', lines.join('\n') + '\n');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ staged: 0, quarantined: 1, rowsRejected: 0 });
    expect(ws.quarantineError('a.ndjson')).toMatchObject({ kind: 'json', line: 42, column: 11, error: 'invalid JSON: trailing comma before }' });
    expect(await ws.rows('tables/target', 'id')).toEqual([]);
  });
});

describe('epoch units are never guessed wrong silently', () => {
  const instant = '2023-11-02 09:01:18+00';
  const values = (v: number | string) => ({ id: String(v), created_at: v });

  it('a fixed unit refuses values outside 1971..2100 in that unit, naming the unit they look like', async () => {
    ws = new Workspace(yaml('ndjson', { badRecordsLimit: 1, transforms: { created_at: { epoch: 'millis' } } }));
    ws.land('landing/a.ndjson', ndjson([values(1698915678000), values(1698915678), values(0), values(1698915678000000), { id: 'n', created_at: null }]));
    await ws.run();
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.id, r.created_at])).toEqual([['1698915678000', instant], ['n', null]]);
    expect(badRecords(ws, 'a.ndjson').map((b) => [b.line, b.error])).toEqual([
      [2, "column 'created_at': epoch value 1698915678 is not a plausible epoch in millis (1971-01-01 to 2100-01-01 is 31536000000 to 4102444800000); it looks like epoch seconds (use epoch: seconds or auto)"],
      [3, "column 'created_at': epoch value 0 is not a plausible epoch in millis (1971-01-01 to 2100-01-01 is 31536000000 to 4102444800000)"],
      [4, "column 'created_at': epoch value 1698915678000000 is not a plausible epoch in millis (1971-01-01 to 2100-01-01 is 31536000000 to 4102444800000); it looks like epoch micros (use epoch: micros or auto)"],
    ]);
  });

  it('epoch: auto takes each value’s unit from its magnitude (seed 001 mixes units)', async () => {
    ws = new Workspace(yaml('ndjson', { transforms: { created_at: { epoch: 'auto' } } }));
    ws.land('landing/a.ndjson', ndjson([values(1698915678), values('1698915678000'), values(1698915678000000), values('1698915678000000000'), values(1698915678.5)]));
    const s = await ws.run();
    expect(s.totals).toMatchObject({ rowsInserted: 5, rowsRejected: 0 });
    expect((await ws.rows('tables/target', 'id')).map((r) => r.created_at)).toEqual([instant, '2023-11-02 09:01:18.5+00', instant, instant, instant]);
  });

  it('rescue keeps an implausible epoch in _rescued_data; fail-file quarantines the file with the reason', async () => {
    ws = new Workspace(yaml('ndjson', { badRecords: 'rescue', badRecordsLimit: 1, transforms: { created_at: { epoch: 'millis' } } }));
    ws.land('landing/a.ndjson', ndjson([values(1698915678000), values(1698915678)]));
    await ws.run();
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.id, r.created_at, r._rescued_data])).toEqual([
      ['1698915678', null, '{"created_at":"1698915678"}'],
      ['1698915678000', instant, null],
    ]);
    ws.cleanup();

    ws = new Workspace(yaml('ndjson', { badRecords: 'fail-file', transforms: { created_at: { epoch: 'millis' } } }));
    ws.land('landing/a.ndjson', ndjson([values(1698915678000), values(1698915678)]));
    await ws.run();
    expect(ws.quarantineError('a.ndjson')).toMatchObject({ kind: 'cast', error: expect.stringContaining('epoch value 1698915678 is not a plausible epoch in millis') });
  });
});
