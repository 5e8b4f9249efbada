// `lakelet read` has two paths: the direct one (cli/commands/read-direct.ts: no DuckDB, for a plain
// read of a small local table) and the SQL one. Whatever table is read, the direct path must print
// exactly the bytes the SQL path prints, in every format, and whatever it does not decode must go
// to the SQL path. Both are run here as the real CLI; LAKELET_TRACE_READ=1 says which one ran.
import { describe, expect, it } from 'vitest';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LAKELET_BIN, lakelet } from '../support/cli.ts';
import { runProcess } from '../support/process.ts';
import { useEngine } from '../support/engine-fixture.ts';
import { deltaRsAvailable, requirePeer, runDeltaRs } from '../support/peers.ts';
import { writePeerData } from '../support/interop.ts';
import { DeltaTable } from '../../src/engine/table.ts';

const fx = useEngine('lakelet-read-direct-');
const GOLDEN = resolve(process.cwd(), '../shared/conformance/golden');
const deltaRs = requirePeer('delta-rs', deltaRsAvailable);

interface Read {
  stdout: string;
  path: string;
  /** How many trace lines the read printed (one: the path that ran, said once). */
  traces: number;
}

/** The CLI's `read` of `dir` with `args`, by the direct path unless `sql`; which path ran, from the trace. */
async function read(dir: string, args: string[], sql: boolean): Promise<Read> {
  const env: Record<string, string> = { LAKELET_TRACE_READ: '1', ...(sql ? { LAKELET_READ_DIRECT: '0' } : {}) };
  const run = await lakelet(['read', dir, ...args], { env });
  if (run.code !== 0) throw new Error(`lakelet read ${dir} ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  const path = /lakelet: read: (\S+)/.exec(run.stderr)?.[1] ?? '(no trace)';
  return { stdout: run.stdout, path, traces: (run.stderr.match(/lakelet: read: /g) ?? []).length };
}

/**
 * Reads `dir` both ways with each argument list and expects the same bytes; returns the paths the
 * direct runs took. With `unordered` only the first line must be the same and the rest the same
 * lines in any order: where the SQL path joins (partition values, deletion vectors) DuckDB itself
 * gives no row order, so two runs of it may differ.
 */
async function expectSameOutput(dir: string, argLists: string[][], unordered = false): Promise<string[]> {
  const paths: string[] = [];
  for (const args of argLists) {
    const [direct, viaSql] = await Promise.all([read(dir, args, false), read(dir, args, true)]);
    expect(viaSql.path).toBe('DuckDB');
    expect([direct.traces, viaSql.traces]).toEqual([1, 1]);
    const what = `${dir} ${args.join(' ')}`;
    if (unordered) {
      const header = !args.includes('ndjson');
      const lines = (text: string) => {
        const all = text.split('\n');
        return header ? [all[0], ...all.slice(1).sort()] : all.sort();
      };
      expect(lines(direct.stdout), what).toEqual(lines(viaSql.stdout));
      expect(direct.stdout.length, what).toBe(viaSql.stdout.length);
    } else {
      expect(direct.stdout, what).toBe(viaSql.stdout);
    }
    paths.push(direct.path);
  }
  return paths;
}

/** Whether the SQL path joins for `dir` (partition columns or deletion vectors): no row order then. */
async function joinsInSql(dir: string): Promise<boolean> {
  const t = await DeltaTable.forPath(dir, { compute: fx.compute });
  try {
    const snapshot = await t.snapshot();
    return snapshot.partitionColumns.length > 0 || snapshot.files.some((f) => f.deletionVector);
  } finally {
    t.close();
  }
}

const FORMATS = [['--format', 'ndjson'], ['--format', 'csv']];

async function lakeletTable(name: string, build: (t: DeltaTable) => Promise<void>): Promise<string> {
  const dir = join(fx.dir, name);
  const t = await DeltaTable.forPath(dir, { compute: fx.compute });
  try {
    await build(t);
  } finally {
    t.close();
  }
  return dir;
}

// Every primitive type lakelet writes, with nulls and the values whose text is easy to get wrong:
// doubles at the switch to exponents, NaN/±Infinity/-0.0, 64-bit integers beyond 2^53, decimals
// with leading zeros, strings JSON must escape, an empty string and an empty blob (csv quotes
// both), years below 1000, timestamps before 1970.
const ALL_TYPES = `SELECT
  (i - 3)::BIGINT * 3037000499 AS big,
  CASE WHEN i = 0 THEN 9223372036854775807 WHEN i = 1 THEN -9223372036854775808 ELSE i * 7 END::BIGINT AS extreme,
  (i * 1000 - 2147)::INTEGER AS int32,
  (i - 2)::SMALLINT AS int16,
  (i - 1)::TINYINT AS int8,
  [1e20, 1e16, 1e15, 123456789012345680.0, 1e-5, 0.0001, 5.0, -0.0, 'Infinity'::DOUBLE, '-Infinity'::DOUBLE][i + 1]::DOUBLE AS f64,
  i % 2 = 0 AS flag,
  ['', 'plain', 'comma, "quote"', E'line\\nbreak\\ttab', 'back\\\\slash /', chr(1) || chr(8) || chr(12) || chr(13) || chr(31) || chr(127), 'é€😀', 'x' || chr(8232) || 'y', ' lead', 'NULL'][i + 1] AS s,
  CASE WHEN i = 3 THEN ''::BLOB ELSE '\\x00\\xFF'::BLOB || CAST(i AS VARCHAR)::BLOB END AS bin,
  (DATE '0900-01-05' + (i * 40000)::INTEGER) AS d,
  (TIMESTAMPTZ '1969-12-31 23:59:59.999999+00' + i * INTERVAL 1234567 SECOND) AS ts,
  (TIMESTAMP '2024-02-29 12:34:56.000001' + i * INTERVAL 1 DAY) AS ntz,
  (i * 1.25 - 6.03)::DECIMAL(5,2) AS dec5,
  (i * 123456789.0123 - 555555555.5)::DECIMAL(18,4) AS dec18,
  ('1234567890123456789012345678.' || i)::DECIMAL(38,10) * (CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END) AS dec38
FROM range(10) t(i)`;

const NULL_ROW = `SELECT ${['big BIGINT', 'extreme BIGINT', 'int32 INTEGER', 'int16 SMALLINT', 'int8 TINYINT', 'f64 DOUBLE', 'flag BOOLEAN', 's VARCHAR', 'bin BLOB', 'd DATE', 'ts TIMESTAMPTZ', 'ntz TIMESTAMP', 'dec5 DECIMAL(5,2)', 'dec18 DECIMAL(18,4)', 'dec38 DECIMAL(38,10)']
  .map((c) => `NULL::${c.split(' ')[1]} AS ${c.split(' ')[0]}`)
  .join(', ')}`;

describe('lakelet read: the direct path prints what the SQL path prints', () => {
  it('every primitive type with nulls, in two files, in every format, with --columns and --limit', async () => {
    const dir = await lakeletTable('all-types', async (t) => {
      await t.write({ sql: ALL_TYPES }).execute();
      await t.write({ sql: `${NULL_ROW} UNION ALL SELECT * REPLACE (big + 1 AS big) FROM (${ALL_TYPES}) WHERE big > 0` }).execute();
    });
    const paths = await expectSameOutput(dir, [
      ...FORMATS,
      ['--format', 'table'],
      ['--format', 'table', '--limit', '3'],
      ['--format', 'csv', '--columns', 'S,dec38,big', '--limit', '4'],
      ['--format', 'ndjson', '--version', '0'],
    ]);
    expect(paths).toEqual(Array(paths.length).fill('direct'));
  });

  it('partition columns (string, integer, date, boolean, null), deletion vectors and column mapping', async () => {
    const partitioned = await lakeletTable('partitioned', async (t) => {
      await t
        .write({ sql: `SELECT i::BIGINT AS id, ['a b/c=d', '100%', NULL][i % 3 + 1] AS p, (i % 2)::INTEGER AS pi, DATE '2024-01-01' + (i % 2)::INTEGER AS pd, i % 2 = 0 AS pb FROM range(8) t(i)` })
        .partitionBy('p', 'pi', 'pd', 'pb')
        .execute();
    });
    const dv = await lakeletTable('dv', async (t) => {
      await t.write({ sql: `SELECT i::BIGINT AS id, 'row ' || i AS s FROM range(200) t(i)` }).properties({ 'delta.enableDeletionVectors': 'true' }).execute();
      await t.delete('id % 7 = 3').execute();
      expect((await t.snapshot()).files.some((f) => f.deletionVector)).toBe(true);
    });
    const mapped = await lakeletTable('mapped', async (t) => {
      await t.write({ sql: `SELECT i::BIGINT AS "Id", 'v' || i AS "a value" FROM range(5) t(i)` }).properties({ 'delta.columnMapping.mode': 'name' }).execute();
    });
    const empty = await lakeletTable('empty', async (t) => {
      await t.write({ sql: `SELECT 1::BIGINT AS id WHERE false` }).execute();
    });
    for (const [dir, unordered] of [[partitioned, true], [dv, true], [mapped, false], [empty, false]] as const) {
      expect(await expectSameOutput(dir, [...FORMATS, ['--format', 'table']], unordered)).toEqual(['direct', 'direct', 'direct']);
    }
  });

  it.skipIf(!existsSync(GOLDEN))('Spark-written golden tables, directly where it decodes them', async () => {
    const tables = [
      'data-reader-primitives',
      'data-reader-partition-values',
      'basic-decimal-table',
      'basic-decimal-table-legacy',
      'decimal-various-scale-precision',
      'data-reader-date-types-utc',
      'data-reader-timestamp_ntz',
      'data-reader-timestamp_ntz-name-mode',
      'data-reader-nested-struct',
    ];
    const paths: string[] = [];
    for (const name of tables) {
      const dir = existsSync(join(GOLDEN, name, 'delta')) ? join(GOLDEN, name, 'delta') : join(GOLDEN, name);
      paths.push(...(await expectSameOutput(dir, FORMATS, await joinsInSql(dir))));
    }
    // Most are decoded directly (nested structs are not, and go through SQL).
    expect(paths.filter((p) => p === 'direct').length).toBeGreaterThanOrEqual(paths.length / 2);
    expect(paths).toContain('DuckDB');
  });

  it.skipIf(deltaRs === 'skip')('a delta-rs-written table of every primitive type', async () => {
    const dir = join(fx.dir, 'deltars');
    const rows = [
      { id: 1, i8: 127, i16: -32768, i32: 2147483647, i64: '-9223372036854775808', f32: 0.1, f64: 5e-324, b: true, s: 'a "q" \\ é', bin: 'AP9/', d: '0001-01-01', ts: '1969-12-31T23:59:59.999999Z', ntz: '9999-12-31T23:59:59.999999', d10: '-0.05', d38: '12345678901234567890.1234567890' },
      { id: 2 },
    ];
    const schema = [
      { name: 'id', type: 'int64', nullable: false },
      ...['i8:int8', 'i16:int16', 'i32:int32', 'i64:int64', 'f32:float32', 'f64:float64', 'b:bool', 's:string', 'bin:binary', 'd:date', 'ts:timestamp_us_utc', 'ntz:timestamp_ntz', 'd10:decimal(10,2)', 'd38:decimal(38,10)'].map((c) => ({ name: c.split(':')[0], type: c.split(':')[1] })),
    ];
    const data = writePeerData(join(fx.dir, 'deltars-data'), 'rows', { schema, rows });
    await runDeltaRs(['write', dir, '--data', data, '--mode', 'append']);
    // Its float32 column goes to SQL (next test); every other column is read directly.
    const direct = schema.map((c) => c.name).filter((n) => n !== 'f32').join(',');
    expect(await expectSameOutput(dir, FORMATS.map((f) => [...f, '--columns', direct]))).toEqual(['direct', 'direct']);
    expect(await expectSameOutput(dir, FORMATS)).toEqual(['DuckDB', 'DuckDB']);
  });

  it('goes to SQL for a FLOAT column: DuckDB does not print the shortest single-precision digits', async () => {
    // 256781.375 and 42139128 are exact floats whose shortest round-trip text (256781.38,
    // 42139130.0) is not what DuckDB prints; the direct path printed those before it declined FLOAT.
    const dir = await lakeletTable('float32', async (t) => {
      await t.write({ sql: `SELECT i::BIGINT AS id, [256781.375, 42139128, 1.1, 16777216, 3.4e38, 1e-7, 0.1, -2.5, 'NaN'::FLOAT, NULL][i + 1]::FLOAT AS f32 FROM range(10) t(i)` }).execute();
    });
    expect(await expectSameOutput(dir, [...FORMATS, ['--format', 'table']])).toEqual(['DuckDB', 'DuckDB', 'DuckDB']);
    const csv = (await read(dir, ['--format', 'csv'], false)).stdout;
    expect(csv).toContain('256781.375');
    expect(csv).toContain('42139128.0');
    expect(await expectSameOutput(dir, [['--format', 'csv', '--columns', 'id']])).toEqual(['direct']);
  });

  it('goes to SQL for what it does not decode: nested columns, --where, --timestamp, over 10,000 rows', async () => {
    const nested = await lakeletTable('nested', async (t) => {
      await t.write({ sql: `SELECT 1::BIGINT AS id, {'a': 1, 'b': [1, 2]} AS st` }).execute();
    });
    expect(await expectSameOutput(nested, FORMATS)).toEqual(['DuckDB', 'DuckDB']);
    // Only its non-nested columns: direct again.
    expect(await expectSameOutput(nested, [['--format', 'ndjson', '--columns', 'id']])).toEqual(['direct']);
    const where = await read(nested, ['--where', 'id = 1', '--format', 'csv'], false);
    expect(where.path).toBe('DuckDB');
    expect(where.stdout).toBe('id,st\n1,"{""a"":1,""b"":[1,2]}"\n');
    const ts = await read(nested, ['--timestamp', new Date(Date.now() + 60_000).toISOString(), '--format', 'csv', '--columns', 'id'], false);
    expect(ts.path).toBe('DuckDB');
    expect(ts.stdout).toBe('id\n1\n');
    // Past 10,000 rows SQL is faster; at 10,000 the direct path still reads it.
    const large = await lakeletTable('large', async (t) => {
      await t.write({ sql: `SELECT i::BIGINT AS id FROM range(10000) t(i)` }).execute();
    });
    expect(await expectSameOutput(large, [['--format', 'csv']])).toEqual(['direct']);
    await (await DeltaTable.forPath(large, { compute: fx.compute })).write({ sql: 'SELECT 10000::BIGINT AS id' }).execute();
    expect(await expectSameOutput(large, [['--format', 'csv']])).toEqual(['DuckDB']);
  });

  it('ends quietly, exit 0, when the reader goes away (| head)', async () => {
    const dir = await lakeletTable('piped', async (t) => {
      await t.write({ sql: `SELECT i::BIGINT AS id, repeat('x', 60) AS s FROM range(5000) t(i)` }).execute();
    });
    // ~350 KB of csv (the write waits for the pipe, and fails) and ~80 KB (the pipe takes 64 KB,
    // the rest is queued and fails after the read returned) into a reader that leaves after 10 bytes.
    for (const limit of ['5000', '1100']) {
      const read = `LAKELET_TRACE_READ=1 ${JSON.stringify(process.execPath)} ${JSON.stringify(LAKELET_BIN)} read ${JSON.stringify(dir)} --format csv --limit ${limit}`;
      const run = await runProcess('bash', ['-c', `set -o pipefail; ${read} | (sleep 0.5; head -c 10 > /dev/null)`]);
      expect(run.stderr, limit).toMatch(/^lakelet: read: direct/);
      expect(run.stderr.split('\n').filter((l) => l.length > 0), limit).toHaveLength(1);
      expect(run.code, limit).toBe(0);
    }
  });

  it('leaves errors to the SQL path: a missing data file is reported as before, nothing printed', async () => {
    const dir = await lakeletTable('missing', async (t) => {
      await t.write({ sql: `SELECT 1::BIGINT AS id` }).execute();
    });
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    const snapshotFile = (await t.snapshot()).files[0].path;
    t.close();
    rmSync(join(dir, snapshotFile));
    const run = await lakelet(['read', dir, '--format', 'csv'], { env: { LAKELET_TRACE_READ: '1' } });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/lakelet: read: DuckDB/);
    expect(run.stderr).toContain(snapshotFile);
  });
});
