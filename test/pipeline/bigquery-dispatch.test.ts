// Seed 004's size-based dispatch with warehouse: bigquery (bigquery.loadJobFrom), in-process runs
// (Workspace.run) against fake-gcs-server (the gs:// landing) and bqemulator. A file at or above the
// threshold is identified by its GCS listing (md5) and loaded by a BigQuery load job from its
// gs:// URI; smaller files are read and checked here. The load job's verdict feeds the same
// quarantine, bad-records report and ingestion log as the in-process path.
//
// Emulator gap: bqemulator reads a load job's gs:// URI from its local root (BQEMU_GCS_LOCAL_ROOT),
// not from a GCS emulator, so every big file here is put in both: fake-gcs-server (what the pipeline
// lists, identifies and archives) and the same path under the emulator's local root (what the load
// job reads). Real BigQuery reads the one GCS object.
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
import { sqlString } from '../../src/adapters/compute/sql.ts';
import { createGcsClient } from '../../src/adapters/storage/gcs/gcs-client.ts';
import { GcsObjectStore } from '../../src/adapters/storage/gcs/gcs-object-store.ts';
import { BigQueryClient } from '../../src/warehouse/bigquery/client.ts';
import { loadConfig as loadJobConfig, loadVerdict } from '../../src/warehouse/bigquery/direct-load.ts';
import { bqEmulatorAvailable, useBigQueryEmulator } from '../support/bigquery-emulator.ts';
import { fakeGcsAvailable, useFakeGcs } from '../support/gcs-emulator.ts';
import { requirePeer } from '../support/peers.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';
import { Workspace } from '../support/workspace.ts';

const bqMode = requirePeer('bqemulator', bqEmulatorAvailable);
const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);
const localRoot = mkdtempSync(join(tmpdir(), 'lakelet-bq-gcs-root-'));
const fake = useFakeGcs('lake');
const bq = useBigQueryEmulator({ project: 'lakelet-test', gcsLocalRoot: localRoot });
const saved = { bq: process.env.BIGQUERY_EMULATOR_HOST, gcs: process.env.STORAGE_EMULATOR_HOST };
beforeAll(() => {
  if (bqMode === 'run') process.env.BIGQUERY_EMULATOR_HOST = bq.emulator.endpoint;
  if (gcsMode === 'run') process.env.STORAGE_EMULATOR_HOST = fake.gcs.endpoint;
});
afterAll(() => {
  for (const [k, v] of [['BIGQUERY_EMULATOR_HOST', saved.bq], ['STORAGE_EMULATOR_HOST', saved.gcs]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(localRoot, { recursive: true, force: true });
});

const LOAD_JOB_FROM = 4096;

/** A Parquet file (DuckDB) of `select`'s rows. */
async function parquet(select: string): Promise<Uint8Array> {
  const compute = await openCompute();
  const file = join(tmpdir(), `lakelet-dispatch-${randomUUID()}.parquet`);
  try {
    await compute.run(`COPY (${select}) TO ${sqlString(file)} (FORMAT parquet)`);
    return readFileSync(file);
  } finally {
    compute.close();
    rmSync(file, { force: true });
  }
}

function setUp(keys: Record<string, unknown> = {}) {
  const prefix = `run-${randomUUID().slice(0, 8)}`;
  const dataset = `dispatch_${randomUUID().slice(0, 8)}`;
  const uri = `gs://lake/${prefix}`;
  const ws = new Workspace(
    `warehouse: bigquery\nbigquery:\n  project: lakelet-test\n  dataset: ${dataset}\n  location: US\n  loadJobFrom: ${LOAD_JOB_FROM}\n` +
      pipelineYaml({ format: 'parquet', pattern: '*.parquet', orderBy: 'v', landing: `${uri}/landing`, archive: `${uri}/archive`, quarantine: `${uri}/quarantine`, ...keys }),
  );
  const gcs = createGcsClient({ STORAGE_EMULATOR_HOST: fake.gcs.endpoint });
  const store = new GcsObjectStore({ storage: gcs.storage, endpoint: gcs.endpoint, bucket: 'lake', prefix });
  const client = BigQueryClient.open({ project: 'lakelet-test', dataset, location: 'US' }, { BIGQUERY_EMULATOR_HOST: bq.emulator.endpoint });
  return {
    ws,
    store,
    client,
    /** A small file: only in fake-gcs-server (lakelet reads it). */
    landSmall: (name: string, bytes: Uint8Array) => store.put(`landing/${name}`, bytes),
    /** A big file: in fake-gcs-server and at the same gs:// path under the emulator's local root (see the header). */
    landBigInBothGcsAndEmulatorRoot: async (name: string, bytes: Uint8Array) => {
      await store.put(`landing/${name}`, bytes);
      const local = join(localRoot, 'lake', prefix, 'landing', name);
      mkdirSync(dirname(local), { recursive: true });
      writeFileSync(local, bytes);
    },
  };
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.skipIf(bqMode === 'skip' || gcsMode === 'skip')('size-based dispatch into BigQuery (bigquery.loadJobFrom; fake-gcs-server + bqemulator local root)', () => {
  let ws: Workspace | undefined;
  afterEach(() => ws?.cleanup());

  it('a file at/above loadJobFrom (object in fake-gcs-server and in the emulator local root) goes by load job from its gs:// URI, a small one in-process; one MERGE; load_path and identity in the log', async () => {
    const s = setUp();
    ws = s.ws;
    // 600 rows (ids 1..600, v = 1); the small file updates id 1 (newer v) and adds 601.
    const big = await parquet(`SELECT i::BIGINT AS id, 'big-' || i AS name, 1::BIGINT AS v FROM range(1, 601) t(i)`);
    const small = await parquet(`SELECT * FROM (VALUES (1::BIGINT, 'small-1', 2::BIGINT), (601, 'small-601', 1)) t(id, name, v)`);
    expect(big.length).toBeGreaterThanOrEqual(LOAD_JOB_FROM);
    expect(small.length).toBeLessThan(LOAD_JOB_FROM);
    await s.landBigInBothGcsAndEmulatorRoot('a-big.parquet', big);
    await s.landSmall('b-small.parquet', small);
    // Which landed objects the run downloads whole (GcsObjectStore.get): the big one must not be among them.
    const downloaded: string[] = [];
    const get = GcsObjectStore.prototype.get;
    GcsObjectStore.prototype.get = function (this: GcsObjectStore, key: string) {
      downloaded.push(key);
      return get.call(this, key);
    };
    let run;
    try {
      run = await ws.run();
    } finally {
      GcsObjectStore.prototype.get = get;
    }
    // Planned from the listing and the footer (ranged reads), loaded by BigQuery, archived by a copy inside GCS.
    expect(downloaded.filter((k) => k.endsWith('a-big.parquet'))).toEqual([]);
    expect(downloaded.filter((k) => k.endsWith('b-small.parquet')).length).toBeGreaterThan(0);
    expect(run.totals.merged).toBe(2);
    const [counts] = await s.client.query(`SELECT COUNT(*) AS n, COUNTIF(name LIKE 'big-%') AS big FROM ${s.client.table('tables_target')}`);
    expect(counts).toEqual({ n: '601', big: '599' });
    expect(await s.client.query(`SELECT id, name, v FROM ${s.client.table('tables_target')} WHERE id IN (1, 2, 601) ORDER BY id`)).toEqual([
      { id: '1', name: 'small-1', v: '2' },
      { id: '2', name: 'big-2', v: '1' },
      { id: '601', name: 'small-601', v: '1' },
    ]);
    const log = await ws.log();
    expect(log.map((r) => [r.file_name, r.status, String(r.records), r.load_path, r.sha256]).sort()).toEqual([
      // The big file is identified by the listing's MD5 (never downloaded to hash it).
      ['a-big.parquet', 'merged', '600', 'load-job', `md5:${md5(big)}`],
      ['b-small.parquet', 'merged', '2', 'in-process', sha256(small)],
    ]);
    expect((await s.store.list('landing/')).map((m) => m.key)).toEqual([]);
    const archived = await s.store.list('archive/');
    expect(archived.map((m) => m.key.split('/').pop()).sort()).toEqual(['a-big.parquet', 'b-small.parquet']);
    expect(Buffer.from(await s.store.get(archived.find((m) => m.key.endsWith('a-big.parquet'))!.key)).equals(Buffer.from(big))).toBe(true);
    // The stage ledger says how the batch went in; the load table went with the staging table.
    const [ledger] = await s.client.query(`SELECT load_path, staged_rows FROM ${s.client.table('_lakelet_batches')} WHERE role = 'stage'`);
    expect(ledger).toEqual({ load_path: 'mixed', staged_rows: '602' });
    // The same big file again (same MD5): a duplicate, not loaded twice.
    await s.landBigInBothGcsAndEmulatorRoot('a-big.parquet', big);
    await ws.run();
    const again = (await ws.log()).filter((r) => String(r.batch) === '2');
    expect(again.map((r) => [r.file_name, r.status, r.load_path, r.sha256])).toEqual([['a-big.parquet', 'duplicate', 'load-job', `md5:${md5(big)}`]]);
  });

  it('a big file the load job rejects (not Parquet) is quarantined with BigQuery\'s error in its .error.json; the log says load-job', async () => {
    const s = setUp();
    ws = s.ws;
    // Ends in PAR1 (so arrival takes it as a complete Parquet file), but no Parquet before that.
    const bytes = new Uint8Array(LOAD_JOB_FROM + 10).fill(65);
    bytes.set(new TextEncoder().encode('PAR1'), bytes.length - 4);
    await s.landBigInBothGcsAndEmulatorRoot('broken.parquet', bytes);
    await ws.run();
    const log = await ws.log();
    expect(log.map((r) => [r.file_name, r.status, r.load_path])).toEqual([['broken.parquet', 'quarantined', 'load-job']]);
    expect(String(log[0].error)).toMatch(/^load-job: the BigQuery load job of gs:\/\/lake\/run-[^/]+\/landing\/broken\.parquet failed/);
    const quarantined = (await s.store.list('quarantine/')).map((m) => m.key);
    expect(quarantined.map((k) => k.split('/').pop()).sort()).toEqual(['broken.parquet', 'broken.parquet.error.json']);
    const doc = JSON.parse(new TextDecoder().decode(await s.store.get(quarantined.find((k) => k.endsWith('.error.json'))!)));
    expect(doc).toMatchObject({ kind: 'load-job', file: 'broken.parquet' });
    expect(await s.client.columns('tables_target')).toBeUndefined();
  });

  it('bad records a load job tolerated (maxBadRecords; the job shape real BigQuery returns, injected because bqemulator ignores maxBadRecords) go to .bad-records.ndjson and rows_rejected', async () => {
    const s = setUp();
    ws = s.ws;
    const big = await parquet(`SELECT i::BIGINT AS id, 'n' || i AS name, 1::BIGINT AS v FROM range(1, 601) t(i)`);
    await s.landBigInBothGcsAndEmulatorRoot('big.parquet', big);
    // What BigQuery reports for a load that skipped 2 bad records under maxBadRecords: the job is
    // DONE without errorResult, status.errors lists them, statistics.load.badRecords counts them.
    const real = BigQueryClient.prototype.loadUrisJob;
    BigQueryClient.prototype.loadUrisJob = async function (this: BigQueryClient, ...args: Parameters<typeof real>) {
      const m = (await real.apply(this, args)) as Record<string, unknown> & { status?: Record<string, unknown>; statistics?: { load?: Record<string, unknown> } };
      return {
        ...m,
        status: { state: 'DONE', errors: [{ reason: 'invalid', location: 'big.parquet', message: "Error while reading data, error message: Could not parse 'x' as INT64 for field id (position 0) starting at location 120" }, { reason: 'invalid', message: 'second bad record' }] },
        statistics: { ...m.statistics, load: { ...m.statistics?.load, badRecords: '2' } },
      } as never;
    };
    try {
      await ws.run();
    } finally {
      BigQueryClient.prototype.loadUrisJob = real;
    }
    const [row] = await ws.log();
    expect(row).toMatchObject({ file_name: 'big.parquet', status: 'merged', load_path: 'load-job' });
    expect(String(row.rows_rejected)).toBe('2');
    expect(String(row.error)).toMatch(/^2 bad record\(s\) left out by the BigQuery load job .*Could not parse 'x' as INT64/);
    const report = (await s.store.list('quarantine/')).find((m) => m.key.endsWith('big.parquet.bad-records.ndjson'));
    expect(report).toBeDefined();
    const lines = new TextDecoder().decode(await s.store.get(report!.key)).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l._error)).toEqual(["Error while reading data, error message: Could not parse 'x' as INT64 for field id (position 0) starting at location 120", 'second bad record']);
  });

  it('emulator gap: bqemulator ignores maxBadRecords (a CSV with one bad row among good ones: real BigQuery with maxBadRecords 5 loads the good rows and reports badRecords 1)', async () => {
    // When this fails, the emulator learned maxBadRecords: turn this into a pipeline test without the injection above.
    const dataset = `gap_${randomUUID().slice(0, 8)}`;
    const client = BigQueryClient.open({ project: 'lakelet-test', dataset, location: 'US', maxBadRecords: 5 }, { BIGQUERY_EMULATOR_HOST: bq.emulator.endpoint });
    await client.query(client.createDatasetSql());
    const local = join(localRoot, 'lake', 'gap', 'bad.csv');
    mkdirSync(dirname(local), { recursive: true });
    writeFileSync(local, 'id,n\n1,10\n2,x\n3,30\n');
    const config = { ...loadJobConfig({ key: 'bad.csv', uri: 'gs://lake/gap/bad.csv', size: 20, format: 'csv' }, 5), autodetect: false, schema: { fields: [{ name: 'id', type: 'INT64' }, { name: 'n', type: 'INT64' }] } };
    const outcome = await client.loadUrisJob('t', ['gs://lake/gap/bad.csv'], 20, config).then(
      (m) => ({ verdict: loadVerdict(m) }),
      (err: Error) => ({ error: err.message }),
    );
    // Real BigQuery: a DONE job with { rows: 2, badRecords: 1 } and the bad row in status.errors.
    // bqemulator refuses the whole load at the first bad row (DuckDB's CSV reader, ignore_errors = false).
    expect(outcome).toMatchObject({ error: expect.stringMatching(/load job of gs:\/\/lake\/gap\/bad\.csv .* failed \(invalid\).*Could not convert string "x" to 'BIGINT'/s) });
  });
});

describe('load job verdicts on the job shapes BigQuery documents (Job.status, statistics.load)', () => {
  it('a job that failed: errorResult present, its message with the first error; the repeat of errorResult in errors[] kept once', () => {
    const v = loadVerdict({
      status: {
        state: 'DONE',
        errorResult: { reason: 'invalid', message: 'Error while reading data, error message: CSV table encountered too many errors, giving up. Rows: 3; errors: 1. Please look into the errors[] collection for more details.' },
        errors: [
          { reason: 'invalid', location: 'gs://lake/in/a.csv', message: "Error while reading data, error message: Could not parse 'x' as INT64 for field n (position 1) starting at location 17" },
          { reason: 'invalid', message: 'Error while reading data, error message: CSV table encountered too many errors, giving up. Rows: 3; errors: 1. Please look into the errors[] collection for more details.' },
        ],
      },
      statistics: { load: { badRecords: '1' } },
    });
    expect(v.failed).toMatch(/^invalid: Error while reading data, .*too many errors.* \(first error: .*Could not parse 'x' as INT64 for field n/);
    expect(v.errors).toHaveLength(1);
    expect(v).toMatchObject({ rows: 0, badRecords: 1 });
  });

  it('a job that succeeded with bad records tolerated: no errorResult, errors[] lists them, badRecords counts them', () => {
    const v = loadVerdict({
      status: { state: 'DONE', errors: [{ reason: 'invalid', location: 'gs://lake/in/a.csv', message: 'Error while reading data, error message: CSV table references column position 2, but line contains only 2 columns.' }] },
      statistics: { load: { inputFiles: '1', inputFileBytes: '20', outputRows: '2', outputBytes: '32', badRecords: '1' } },
    });
    expect(v).toEqual({ rows: 2, badRecords: 1, errors: [{ reason: 'invalid', location: 'gs://lake/in/a.csv', message: 'Error while reading data, error message: CSV table references column position 2, but line contains only 2 columns.' }] });
  });

  it('a clean job: rows, no bad records, no errors; CSV options become the load configuration', () => {
    expect(loadVerdict({ status: { state: 'DONE' }, statistics: { load: { outputRows: '600' } } })).toEqual({ rows: 600, badRecords: 0, errors: [] });
    expect(loadJobConfig({ key: 'a.csv', uri: 'gs://b/a.csv', size: 1, format: 'csv', csv: { delimiter: ';', header: false, nullString: 'NA' } }, 3)).toEqual({
      writeDisposition: 'WRITE_TRUNCATE', createDisposition: 'CREATE_IF_NEEDED', maxBadRecords: 3, sourceFormat: 'CSV', autodetect: true, skipLeadingRows: 0, fieldDelimiter: ';', nullMarker: 'NA',
    });
  });
});
