// Proves the delta-rs peer (test/peers/deltars_peer.py over the Python `deltalake` package) works,
// so that interop tests built on it can be trusted: what it writes it reads back exactly, every
// command does what it says, and it reads a Spark-written golden table completely.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deltaRsAvailable, repoRoot, requirePeer, runDeltaRs } from '../support/peers.ts';
import { runProcess } from '../support/process.ts';

const mode = requirePeer('delta-rs', deltaRsAvailable);

// ---------------------------------------------------------------------------------------------
// The house rule itself: these need no peer.
// ---------------------------------------------------------------------------------------------
describe('requirePeer', () => {
  const savedCi = process.env.CI;
  afterAll(() => {
    if (savedCi === undefined) delete process.env.CI;
    else process.env.CI = savedCi;
  });

  it('runs when the peer is available, CI or not', () => {
    process.env.CI = 'true';
    expect(requirePeer('delta-rs', true)).toBe('run');
    delete process.env.CI;
    expect(requirePeer('delta-rs', true)).toBe('run');
  });

  it('fails a missing peer under CI=true, saying what to install and how', () => {
    process.env.CI = 'true';
    expect(() => requirePeer('delta-rs', false)).toThrow(/delta-rs.*CI=true[\s\S]*deltalake[\s\S]*bash scripts\/setup-peers\.sh/);
  });

  it('skips a missing peer locally, with a warning', () => {
    delete process.env.CI;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(requirePeer('delta-rs', false)).toBe('skip');
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/delta-rs[\s\S]*bash scripts\/setup-peers\.sh/);
    } finally {
      warn.mockRestore();
    }
  });

  it('sees no delta-rs when LAKELET_VENV points at a missing venv, and fails under CI=true', async () => {
    // A fresh process, so the module-load check runs against the override.
    const missing = path.join(tmpdir(), `lakelet-no-venv-${process.pid}`);
    const script = `
      const m = await import(${JSON.stringify(path.join(repoRoot, 'test', 'support', 'peers.ts'))});
      console.log(JSON.stringify({ available: m.deltaRsAvailable, python: m.venvPython() ?? null }));
      m.requirePeer('delta-rs', m.deltaRsAvailable);
    `;
    const res = await runProcess(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, env: { CI: 'true', LAKELET_VENV: missing } });
    expect(JSON.parse(res.stdout.trim().split('\n')[0])).toEqual({ available: false, python: null });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/Test peer "delta-rs" is not available and CI=true/);
    expect(res.stderr).toMatch(/bash scripts\/setup-peers\.sh/);
  });
});

// ---------------------------------------------------------------------------------------------
// The peer.
// ---------------------------------------------------------------------------------------------
const PRIMITIVE_SCHEMA = [
  { name: 'id', type: 'int64' },
  { name: 'part', type: 'string' },
  { name: 'i32', type: 'int32' },
  { name: 'i16', type: 'int16' },
  { name: 'i8', type: 'int8' },
  { name: 'f64', type: 'float64' },
  { name: 'f32', type: 'float32' },
  { name: 'flag', type: 'bool' },
  { name: 's', type: 'string' },
  { name: 'bin', type: 'binary' },
  { name: 'd', type: 'date' },
  { name: 'ts', type: 'timestamp_us_utc' },
  { name: 'ntz', type: 'timestamp_ntz' },
  { name: 'dec', type: 'decimal(10,2)' },
];

// Input in the forms the peer accepts (offsets, epoch microseconds, numbers for decimals, ...).
const PRIMITIVE_ROWS = [
  {
    id: 1, part: 'a', i32: -5, i16: 300, i8: -128, f64: 1.5, f32: 1.1, flag: true, s: 'héllo ✓',
    bin: 'AAEC', d: '2024-02-29', ts: '2024-01-02T03:04:05.123456Z', ntz: '2024-01-02T03:04:05.000001', dec: '12.3',
  },
  {
    id: '9007199254740993', part: 'b', i32: null, i16: null, i8: null, f64: 'NaN', f32: '-Infinity', flag: false,
    s: null, bin: null, d: null, ts: '2024-06-01T00:00:00+02:00', ntz: null, dec: -0.01,
  },
  {
    id: 3, part: null, i32: 2147483647, i16: -32768, i8: 127, f64: null, f32: null, flag: null, s: '',
    bin: '', d: '0999-12-31', ts: 0, ntz: '1970-01-01T00:00:00', dec: null,
  },
  // A row that is all nulls but its key.
  [4, 'a', null, null, null, null, null, null, null, null, null, null, null, null],
  {
    id: '-9223372036854775808', part: 'b', i32: 0, i16: 0, i8: 0, f64: 'Infinity', f32: 0.5, flag: true,
    s: 'x', bin: '/w==', d: '1970-01-01', ts: '1969-12-31T23:59:59.999999Z', ntz: '9999-12-31T23:59:59.999999', dec: '99999999.99',
  },
];

// What the peer must print for them.
const PRIMITIVE_EXPECTED = [
  {
    id: 1, part: 'a', i32: -5, i16: 300, i8: -128, f64: 1.5, f32: Math.fround(1.1), flag: true, s: 'héllo ✓',
    bin: 'AAEC', d: '2024-02-29', ts: '2024-01-02T03:04:05.123456Z', ntz: '2024-01-02T03:04:05.000001', dec: '12.30',
  },
  {
    id: '9007199254740993', part: 'b', i32: null, i16: null, i8: null, f64: 'NaN', f32: '-Infinity', flag: false,
    s: null, bin: null, d: null, ts: '2024-05-31T22:00:00.000000Z', ntz: null, dec: '-0.01',
  },
  {
    id: 3, part: null, i32: 2147483647, i16: -32768, i8: 127, f64: null, f32: null, flag: null, s: '',
    bin: '', d: '0999-12-31', ts: '1970-01-01T00:00:00.000000Z', ntz: '1970-01-01T00:00:00.000000', dec: null,
  },
  {
    id: 4, part: 'a', i32: null, i16: null, i8: null, f64: null, f32: null, flag: null, s: null,
    bin: null, d: null, ts: null, ntz: null, dec: null,
  },
  {
    id: '-9223372036854775808', part: 'b', i32: 0, i16: 0, i8: 0, f64: 'Infinity', f32: 0.5, flag: true,
    s: 'x', bin: '/w==', d: '1970-01-01', ts: '1969-12-31T23:59:59.999999Z', ntz: '9999-12-31T23:59:59.999999', dec: '99999999.99',
  },
];

const EXPECTED_DELTA_TYPES: Record<string, string> = {
  id: 'long', part: 'string', i32: 'integer', i16: 'short', i8: 'byte', f64: 'double', f32: 'float',
  flag: 'boolean', s: 'string', bin: 'binary', d: 'date', ts: 'timestamp', ntz: 'timestamp_ntz', dec: 'decimal(10,2)',
};

const byId = (a: any, b: any) => String(a.id).localeCompare(String(b.id));

describe.skipIf(mode === 'skip')('delta-rs peer (Python deltalake)', () => {
  let work: string;
  let dataSeq = 0;

  /** Write a data file for --data and return its path. */
  function dataFile(doc: { schema: unknown[]; rows: unknown[] }): string {
    const file = path.join(work, `data-${++dataSeq}.json`);
    writeFileSync(file, JSON.stringify(doc));
    return file;
  }

  function logFiles(table: string): string[] {
    return readdirSync(path.join(table, '_delta_log')).sort();
  }

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'lakelet-deltars-peer-'));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('a partitioned table of every primitive type, with nulls', () => {
    let table: string;
    beforeAll(async () => {
      table = path.join(work, 'primitives');
      const res = await runDeltaRs([
        'write', table, '--data', dataFile({ schema: PRIMITIVE_SCHEMA, rows: PRIMITIVE_ROWS }),
        '--mode', 'overwrite', '--partition-by', 'part',
      ]);
      expect(res).toEqual({ version: 0, numRows: PRIMITIVE_ROWS.length });
    });

    it('reads back the same rows, version, schema and partition columns', async () => {
      const out = await runDeltaRs(['read', table]);
      expect(out.version).toBe(0);
      expect(out.partitionColumns).toEqual(['part']);
      expect(out.schema.type).toBe('struct');
      expect(out.schema.fields.map((f: any) => f.name)).toEqual(PRIMITIVE_SCHEMA.map((c) => c.name));
      for (const f of out.schema.fields) {
        expect({ name: f.name, type: f.type, nullable: f.nullable }).toEqual({
          name: f.name,
          type: EXPECTED_DELTA_TYPES[f.name],
          nullable: true,
        });
      }
      expect([...out.rows].sort(byId)).toEqual([...PRIMITIVE_EXPECTED].sort(byId));
    });

    it('prints rows in a deterministic order, sorted by their canonical JSON', async () => {
      const a = await runDeltaRs(['read', table]);
      const b = await runDeltaRs(['read', table]);
      expect(b).toEqual(a);
      // Keys sorted, no spaces: the peer's canonical form. It matches JSON.stringify for these rows
      // (no integral floats, which Python prints as "7.0"; no characters beyond the BMP, where
      // UTF-16 and code point order differ).
      const canonical = (r: Record<string, unknown>) =>
        JSON.stringify(Object.fromEntries(Object.entries(r).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))));
      const keys = a.rows.map(canonical);
      expect(keys).toEqual([...keys].sort());
    });

    it('lays the table out as Delta with Hive-style partition directories', () => {
      expect(logFiles(table)).toEqual(['00000000000000000000.json']);
      const dirs = readdirSync(table).filter((d) => d !== '_delta_log').sort();
      expect(dirs).toEqual(['part=__HIVE_DEFAULT_PARTITION__', 'part=a', 'part=b']);
      const actions = readFileSync(path.join(table, '_delta_log', '00000000000000000000.json'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const protocol = actions.find((a) => a.protocol)?.protocol;
      // timestamp_ntz makes delta-rs write table features.
      expect(protocol).toMatchObject({ minReaderVersion: 3, minWriterVersion: 7 });
      expect(protocol.readerFeatures).toContain('timestampNtz');
      const adds = actions.filter((a) => a.add).map((a) => a.add);
      expect(adds).toHaveLength(3);
      expect(adds.map((a) => a.partitionValues.part).sort()).toEqual(['a', 'b', null]);
      const numRecords = adds.map((a) => JSON.parse(a.stats).numRecords).reduce((x, y) => x + y, 0);
      expect(numRecords).toBe(PRIMITIVE_ROWS.length);
    });
  });

  describe('versions, time travel, checkpoint and history', () => {
    const schema = [
      { name: 'k', type: 'int32' },
      { name: 'v', type: 'string' },
    ];
    let table: string;
    beforeAll(async () => {
      table = path.join(work, 'versions');
      await runDeltaRs(['write', table, '--data', dataFile({ schema, rows: [[1, 'one'], [2, 'two']] })]);
      const res = await runDeltaRs([
        'write', table, '--data', dataFile({ schema, rows: [[3, 'three']] }), '--mode', 'append',
      ]);
      expect(res.version).toBe(1);
    });

    it('reads the latest version and any earlier one', async () => {
      const latest = await runDeltaRs(['read', table]);
      expect(latest.version).toBe(1);
      expect(latest.partitionColumns).toEqual([]);
      expect(latest.rows).toEqual([{ k: 1, v: 'one' }, { k: 2, v: 'two' }, { k: 3, v: 'three' }]);
      const v0 = await runDeltaRs(['read', table, '--version', '0']);
      expect(v0.version).toBe(0);
      expect(v0.rows).toEqual([{ k: 1, v: 'one' }, { k: 2, v: 'two' }]);
    });

    it('reads several versions of one table in one process (--versions), a list in the order given', async () => {
      const [v0, latest, v1] = await runDeltaRs(['read', table, '--versions', '0,latest,1']);
      expect([v0.version, latest.version, v1.version]).toEqual([0, 1, 1]);
      expect(v0.rows).toEqual([{ k: 1, v: 'one' }, { k: 2, v: 'two' }]);
      expect(latest).toEqual(v1);
      expect(v1.rows).toEqual([{ k: 1, v: 'one' }, { k: 2, v: 'two' }, { k: 3, v: 'three' }]);
      await expect(runDeltaRs(['read', table, '--versions', '0,next'])).rejects.toThrow(/'next' is neither a version number nor 'latest'/);
    });

    it('overwrites', async () => {
      const res = await runDeltaRs([
        'write', table, '--data', dataFile({ schema, rows: [[9, 'nine']] }), '--mode', 'overwrite',
      ]);
      expect(res.version).toBe(2);
      expect((await runDeltaRs(['read', table])).rows).toEqual([{ k: 9, v: 'nine' }]);
      expect((await runDeltaRs(['read', table, '--version', '1'])).rows).toHaveLength(3);
    });

    it('writes a classic checkpoint and _last_checkpoint', async () => {
      const res = await runDeltaRs(['checkpoint', table]);
      expect(res).toEqual({ version: 2 });
      expect(logFiles(table)).toContain('00000000000000000002.checkpoint.parquet');
      const last = JSON.parse(readFileSync(path.join(table, '_delta_log', '_last_checkpoint'), 'utf8'));
      expect(last.version).toBe(2);
      // Still readable from the checkpoint.
      expect((await runDeltaRs(['read', table])).rows).toEqual([{ k: 9, v: 'nine' }]);
    });

    it('lists history newest first', async () => {
      const history = await runDeltaRs(['history', table]);
      expect(history.map((h: any) => h.version)).toEqual([2, 1, 0]);
      expect(history.map((h: any) => h.operation)).toEqual(['WRITE', 'WRITE', 'WRITE']);
      expect(history[0].operationParameters.mode).toBe('Overwrite');
      expect(history[1].operationParameters.mode).toBe('Append');
    });
  });

  describe('merge and optimize', () => {
    const schema = [
      { name: 'region', type: 'string' },
      { name: 'day', type: 'date' },
      { name: 'id', type: 'int64' },
      { name: 'amount', type: 'decimal(12,2)' },
    ];
    let table: string;
    beforeAll(async () => {
      table = path.join(work, 'merge');
      // Three appends into the same partitions: small files for optimize to compact.
      for (const rows of [
        [['eu', '2024-01-01', 1, '10.00'], ['us', '2024-01-01', 2, '20.00']],
        [['eu', '2024-01-01', 3, '30.00']],
        [['eu', '2024-01-01', 4, '40.00']],
      ]) {
        await runDeltaRs(['write', table, '--data', dataFile({ schema, rows }), '--partition-by', 'region,day']);
      }
    });

    it('upserts on composite keys and reports metrics', async () => {
      const metrics = await runDeltaRs([
        'merge', table, '--on', 'region,id',
        '--data', dataFile({ schema, rows: [['eu', '2024-01-01', 1, '11.50'], ['us', '2024-01-02', 5, '5.00']] }),
      ]);
      expect(metrics).toMatchObject({
        num_source_rows: 2,
        num_target_rows_inserted: 1,
        num_target_rows_updated: 1,
        num_target_rows_deleted: 0,
      });
      const out = await runDeltaRs(['read', table]);
      expect(out.version).toBe(3);
      expect(out.partitionColumns).toEqual(['region', 'day']);
      expect([...out.rows].sort(byId)).toEqual([
        { region: 'eu', day: '2024-01-01', id: 1, amount: '11.50' },
        { region: 'us', day: '2024-01-01', id: 2, amount: '20.00' },
        { region: 'eu', day: '2024-01-01', id: 3, amount: '30.00' },
        { region: 'eu', day: '2024-01-01', id: 4, amount: '40.00' },
        { region: 'us', day: '2024-01-02', id: 5, amount: '5.00' },
      ]);
    });

    it('compacts small files without changing the rows', async () => {
      const before = await runDeltaRs(['read', table]);
      const metrics = await runDeltaRs(['optimize', table]);
      expect(metrics.numFilesRemoved).toBeGreaterThan(metrics.numFilesAdded);
      expect(metrics.numFilesAdded).toBeGreaterThan(0);
      const after = await runDeltaRs(['read', table]);
      expect(after.version).toBe(before.version + 1);
      expect(after.rows).toEqual(before.rows);
    });

    it('rejects a merge key that is not in the data', async () => {
      await expect(
        runDeltaRs(['merge', table, '--on', 'nope', '--data', dataFile({ schema, rows: [] })]),
      ).rejects.toThrow(/--on columns \['nope'\] are not in the --data schema/);
    });
  });

  describe('errors', () => {
    it('rejects with stderr for a directory that is not a table', async () => {
      await expect(runDeltaRs(['read', path.join(work, 'no-such-table')])).rejects.toThrow(
        /deltars_peer read .* exited 1: .*is not a Delta table/,
      );
    });

    it('rejects a version that does not exist', async () => {
      const table = path.join(work, 'one-version');
      await runDeltaRs(['write', table, '--data', dataFile({ schema: [{ name: 'x', type: 'int8' }], rows: [[1]] })]);
      await expect(runDeltaRs(['read', table, '--version', '7'])).rejects.toThrow(/exited 1/);
    });

    it('rejects data that does not fit its declared type', async () => {
      const bad = dataFile({ schema: [{ name: 'x', type: 'int64' }], rows: [{ x: 'abc' }] });
      await expect(runDeltaRs(['write', path.join(work, 'bad'), '--data', bad])).rejects.toThrow(
        /column x: cannot read 'abc' as int64/,
      );
      expect(existsSync(path.join(work, 'bad', '_delta_log'))).toBe(false);
    });
  });

  describe('golden table data-reader-primitives (written by Spark)', () => {
    const golden = path.resolve(process.cwd(), '../shared/conformance/golden/data-reader-primitives');

    it('reads every row the expected parquet holds', async () => {
      expect(existsSync(path.join(golden, 'delta', '_delta_log')), `golden table missing at ${golden}`).toBe(true);
      const expected = await runDeltaRs(['count-parquet', path.join(golden, 'expected')]);
      expect(expected.files).toBeGreaterThan(0);
      expect(expected.rows).toBeGreaterThan(0);
      const out = await runDeltaRs(['read', path.join(golden, 'delta')]);
      expect(out.version).toBe(0);
      expect(out.rows).toHaveLength(expected.rows);
      expect(out.schema.fields.map((f: any) => f.name)).toEqual([
        'as_int', 'as_long', 'as_byte', 'as_short', 'as_boolean', 'as_float', 'as_double', 'as_string',
        'as_binary', 'as_big_decimal',
      ]);
      // One row is all nulls; the others carry their index in every column.
      expect(out.rows.filter((r: any) => Object.values(r).every((v) => v === null))).toHaveLength(1);
      expect(out.rows).toContainEqual({
        as_int: 7, as_long: 7, as_byte: 7, as_short: 7, as_boolean: false, as_float: 7, as_double: 7,
        as_string: '7', as_binary: 'Bwc=', as_big_decimal: '7',
      });
    });
  });
});
