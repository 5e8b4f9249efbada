import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { lakelet, lakeletOk } from '../support/cli.ts';

const lakeletArgs = (...args: string[]) => lakelet(args);
const ok = (...args: string[]) => lakeletOk(args);

/**
 * The real `lakelet` binary as a child process, on temp tables. Every spawn costs about a second
 * (tsx start-up plus DuckDB), so each test groups several assertions over one run.
 */
const GOLDEN = resolve(process.cwd(), '../shared/conformance/golden/data-reader-primitives');

function ndjson(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function byId(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return [...rows].sort((a, b) => Number(a.id) - Number(b.id));
}

let dir: string;
let people: string;
let typed: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lakelet-cli-'));
  people = join(dir, 'people');
  typed = join(dir, 'typed');
  writeFileSync(
    join(dir, 'people.csv'),
    'id,big,score,ts,name,day\n' +
      '1,9007199254740993,1.5,2024-01-02T03:04:05.123456Z,"Smith, John",2024-01-01\n' +
      '2,-42,,2024-01-02T03:04:06Z,"say ""hi""",2024-01-01\n' +
      '3,12,2.25,,plain,2024-01-02\n',
  );
  writeFileSync(
    join(dir, 'people2.csv'),
    'id,big,score,ts,name,day\n' +
      '10,1,0.5,2024-02-01T00:00:00Z,new,2024-02-01\n' +
      '11,2,0.25,2024-02-01T00:00:00Z,newer,2024-02-01\n' +
      '12,3,0.125,2024-02-02T00:00:00Z,newest,2024-02-02\n',
  );
  // Types a CSV cannot carry (DuckDB's sniffer never infers DECIMAL): a Parquet file made here.
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  await connection.run(`
    COPY (
      SELECT 1::INTEGER AS id, 9223372036854775807::BIGINT AS big, 12345678901234.56::DECIMAL(18,2) AS amount,
             TIMESTAMPTZ '2024-01-02 03:04:05.123456+00' AS ts, TIMESTAMP '2024-01-02 03:04:05.5' AS ts_ntz,
             DATE '2024-01-02' AS d, 'a' AS s, '\\xAA\\xBB'::BLOB AS bin, 1.1::FLOAT AS f, 2.5::DOUBLE AS dbl,
             ['x', 'y'] AS tags, {'n': 9007199254740993::BIGINT, 't': TIMESTAMPTZ '2024-01-02 00:00:00+00'} AS info,
             MAP {'k': 1::BIGINT} AS m, 'NaN'::DOUBLE AS nan, true AS flag
      UNION ALL
      SELECT 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    ) TO '${join(dir, 'typed.parquet')}' (FORMAT parquet)`);
  connection.closeSync();
  instance.closeSync();
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('lakelet CLI', () => {
  it('writes a partitioned table from CSV and reads it back as ndjson, csv and a filtered table', async () => {
    const written = await ok('write', people, '--from', join(dir, 'people.csv'), '--partition-by', 'day', '--json');
    const result = JSON.parse(written.stdout);
    expect(result).toMatchObject({ version: 0, numFiles: 2, numOutputRows: 3, numRemovedFiles: 0, mode: 'append' });
    expect(result.numOutputBytes).toBeGreaterThan(0);

    const [asNdjson, asCsv, filtered] = await Promise.all([
      ok('read', people, '--format', 'ndjson'),
      ok('read', people, '--format', 'csv', '--columns', 'id,name,big,score'),
      ok('read', people, '--where', "day = DATE '2024-01-02'"),
    ]);

    // 64-bit integers as strings (9007199254740993 is 2^53 + 1: a JS number would round it),
    // instants in ISO-8601 UTC with microseconds, dates as YYYY-MM-DD, NULL as null.
    expect(asNdjson.stdout).toContain('"big":"9007199254740993"');
    expect(byId(ndjson(asNdjson.stdout))).toEqual([
      { id: '1', big: '9007199254740993', score: 1.5, ts: '2024-01-02T03:04:05.123456Z', name: 'Smith, John', day: '2024-01-01' },
      { id: '2', big: '-42', score: null, ts: '2024-01-02T03:04:06.000000Z', name: 'say "hi"', day: '2024-01-01' },
      { id: '3', big: '12', score: 2.25, ts: null, name: 'plain', day: '2024-01-02' },
    ]);
    expect(asNdjson.stderr).toBe('');

    const csvLines = asCsv.stdout.trimEnd().split('\n');
    expect(csvLines[0]).toBe('id,name,big,score');
    expect(csvLines.slice(1).sort()).toEqual(['1,"Smith, John",9007199254740993,1.5', '2,"say ""hi""",-42,', '3,plain,12,2.25']);

    // File skipping by partition value, reported on stderr; only the matching row printed.
    expect(filtered.stderr).toBe('scanned 1 of 2 files (1 skipped)\n');
    expect(filtered.stdout).toMatch(/^id\s+big\s+score\s+ts\s+name\s+day\n/);
    expect(filtered.stdout).toContain('plain');
    expect(filtered.stdout).not.toContain('Smith');
    expect(filtered.stdout.trimEnd().split('\n')).toHaveLength(3);
  });

  it('prints every type JSON-safely: decimals, timestamps with and without zone, binary, nested', async () => {
    await ok('write', typed, '--from', join(dir, 'typed.parquet'));
    const run = await ok('read', typed, '--format', 'ndjson');
    expect(run.stdout).toContain('"amount":"12345678901234.56"');
    expect(byId(ndjson(run.stdout))).toEqual([
      {
        id: 1,
        big: '9223372036854775807',
        amount: '12345678901234.56',
        ts: '2024-01-02T03:04:05.123456Z',
        ts_ntz: '2024-01-02T03:04:05.500000',
        d: '2024-01-02',
        s: 'a',
        bin: 'qrs=',
        f: 1.1,
        dbl: 2.5,
        tags: ['x', 'y'],
        info: { n: '9007199254740993', t: '2024-01-02T00:00:00.000000Z' },
        m: { k: '1' },
        nan: 'NaN',
        flag: true,
      },
      { id: 2, big: null, amount: null, ts: null, ts_ntz: null, d: null, s: null, bin: null, f: null, dbl: null, tags: null, info: null, m: null, nan: null, flag: null },
    ]);
  });

  it('overwrites, keeps history newest first, and travels back by version and by timestamp', async () => {
    const overwrite = await ok('write', people, '--from', join(dir, 'people2.csv'), '--mode', 'overwrite');
    expect(overwrite.stdout).toMatch(/^wrote version 1 of .*people: 3 rows in 2 files \(.+\), removed 2 files, \d+ ms\n$/);

    const history = await ok('history', people, '--json');
    const entries = JSON.parse(history.stdout) as {
      version: number;
      timestamp: string;
      operation: string;
      operationParameters: Record<string, unknown>;
      operationMetrics: Record<string, unknown>;
    }[];
    expect(entries.map((e) => e.version)).toEqual([1, 0]);
    expect(entries[0].operation).toBe('WRITE');
    expect(entries[0].operationParameters).toMatchObject({ mode: 'Overwrite' });
    // Delta records metrics as strings, as Spark does; history shows them as recorded.
    expect(entries[0].operationMetrics).toMatchObject({ numFiles: '2', numOutputRows: '3', numRemovedFiles: '2' });
    expect(entries[1].operation).toBe('CREATE TABLE AS SELECT');
    expect(entries[1].operationMetrics).toMatchObject({ numFiles: '2', numOutputRows: '3' });
    expect(entries[0].timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const [latest, v0, atTime, limited, historyText] = await Promise.all([
      ok('read', people, '--format', 'ndjson', '--columns', 'id,name'),
      ok('read', people, '--format', 'ndjson', '--columns', 'id,name', '--version', '0'),
      ok('read', people, '--format', 'ndjson', '--columns', 'id,name', '--timestamp', entries[1].timestamp),
      ok('read', people, '--limit', '1', '--columns', 'name'),
      ok('history', people, '--limit', '1'),
    ]);
    const oldRows = [
      { id: '1', name: 'Smith, John' },
      { id: '2', name: 'say "hi"' },
      { id: '3', name: 'plain' },
    ];
    expect(byId(ndjson(latest.stdout))).toEqual([
      { id: '10', name: 'new' },
      { id: '11', name: 'newer' },
      { id: '12', name: 'newest' },
    ]);
    expect(byId(ndjson(v0.stdout))).toEqual(oldRows);
    expect(byId(ndjson(atTime.stdout))).toEqual(oldRows);

    expect(limited.stdout).toMatch(/^name\s*\n─+\n(new|newer|newest)\n… 2 more rows \(showing 1 of 3; use --limit to see more\)\n$/);
    expect(limited.stderr).toBe('');

    const lines = historyText.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^version\s+timestamp\s+operation\s+parameters\s+metrics$/);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^\s*1\s+\S+Z\s+WRITE\s+mode=Overwrite.*numRemovedFiles=2/);
  });

  it('describes a table as JSON and as text', async () => {
    const [json, text] = await Promise.all([ok('describe', people, '--json'), ok('describe', people, '--version', '0')]);
    const d = JSON.parse(json.stdout);
    expect(d).toMatchObject({
      version: 1,
      numFiles: 2,
      partitionColumns: ['day'],
      protocol: { minReaderVersion: expect.any(Number), minWriterVersion: expect.any(Number) },
      properties: {},
    });
    expect(d.table).toContain(people);
    expect(d.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(d.sizeInBytes).toBeGreaterThan(0);
    expect(d.createdTime).toMatch(/Z$/);
    expect(d.timestamp).toMatch(/Z$/);
    expect(d.schema).toEqual([
      { name: 'id', type: 'long', nullable: true },
      { name: 'big', type: 'long', nullable: true },
      { name: 'score', type: 'double', nullable: true },
      { name: 'ts', type: 'timestamp', nullable: true },
      { name: 'name', type: 'string', nullable: true },
      { name: 'day', type: 'date', nullable: true },
    ]);

    expect(text.stdout).toMatch(/^version\s+0 \(committed \S+Z\)$/m);
    expect(text.stdout).toMatch(/^files\s+2 files, \d+(\.\d+)? (B|KiB)$/m);
    expect(text.stdout).toMatch(/^partitioned by\s+day$/m);
    expect(text.stdout).toMatch(/^protocol\s+reader version \d, writer version \d$/m);
    expect(text.stdout).toMatch(/^\s+big\s+long\s+yes\s*$/m);
    expect(text.stdout).toMatch(/^\s+day\s+date\s+yes\s+partition$/m);
  });

  it('reads a Spark-written golden table in place', async () => {
    const run = await ok('read', join(GOLDEN, 'delta'), '--format', 'ndjson');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${join(GOLDEN, 'expected')}/*.parquet')`);
    const expected = reader.getRowObjects()[0].n as number;
    connection.closeSync();
    instance.closeSync();
    expect(expected).toBeGreaterThan(0);
    expect(ndjson(run.stdout)).toHaveLength(expected);
  });

  it('reports a failure as one line on stderr with exit 1, and the stack only with --verbose', async () => {
    const missing = join(dir, 'no-such-table');
    const [plain, verbose] = await Promise.all([lakeletArgs('read', missing), lakeletArgs('read', missing, '--verbose')]);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe('');
    const lines = plain.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lakelet: /);
    expect(lines[0]).toContain(missing);
    expect(plain.stderr).not.toMatch(/^ {4}at /m);

    expect(verbose.code).toBe(1);
    expect(verbose.stderr.split('\n')[0]).toBe(lines[0]);
    expect(verbose.stderr).toMatch(/^ {4}at /m);
  });

  it('succeeds with a warning when the commit landed but its checkpoint could not be written (a rerun would apply it twice)', async () => {
    const t = join(dir, 'no-checkpoint');
    const csv = join(dir, 'one-row.csv');
    writeFileSync(csv, 'id\n1\n');
    await ok('write', t, '--from', csv, '--property', 'delta.checkpointInterval=1');
    // A directory on the checkpoint's name: the rename into place fails, as on a full disk.
    mkdirSync(join(t, '_delta_log', `${'1'.padStart(20, '0')}.checkpoint.parquet`, 'in-the-way'), { recursive: true });
    const second = await lakeletArgs('write', t, '--from', csv, '--mode', 'append');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/^lakelet: warning: \S+no-checkpoint: version 1 is committed, but its checkpoint could not be written \(.+\)\. Nothing is lost and the operation must not be run again/);
    rmSync(join(t, '_delta_log', `${'1'.padStart(20, '0')}.checkpoint.parquet`), { recursive: true });
    expect((await ok('read', t, '--format', 'csv')).stdout).toBe('id\n1\n1\n');
  });

  it('treats wrong usage as exit 2 with one line naming the problem', async () => {
    const [badLimit, badFormat, noFrom, both] = await Promise.all([
      lakeletArgs('read', people, '--limit', 'many'),
      lakeletArgs('read', people, '--format', 'xml'),
      lakeletArgs('write', people),
      lakeletArgs('read', people, '--version', '0', '--timestamp', '2024-01-01T00:00:00Z'),
    ]);
    for (const run of [badLimit, badFormat, noFrom, both]) {
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^lakelet: [^\n]+\n$/);
    }
    expect(badLimit.stderr).toContain('--limit');
    expect(badFormat.stderr).toContain('xml');
    expect(noFrom.stderr).toContain('--from');
  });

  it('has --help for the program and each command, with options and examples', async () => {
    const expectations: [string[], string[]][] = [
      [[], ['read', 'write', 'history', 'describe', '--verbose']],
      [['read'], ['--version', '--timestamp', '--where', '--columns', '--limit', '--format', 'Examples:']],
      [['history'], ['--limit', '--json', 'Examples:']],
      [['describe'], ['--version', '--json', 'Examples:']],
      [['write'], ['--from', '--mode', '--partition-by', '--merge-schema', '--json', 'Examples:']],
    ];
    const runs = await Promise.all(expectations.map(([command]) => lakeletArgs(...command, '--help')));
    runs.forEach((run, i) => {
      expect(run.code, `lakelet ${expectations[i][0].join(' ')} --help`).toBe(0);
      for (const text of expectations[i][1]) expect(run.stdout).toContain(text);
    });
  });
});
