// One lakelet.yml, two profiles (issue 10, point 5): `--profile local` (the default) runs on local
// folders, `--profile gcp` (here through LAKELET_PROFILE) runs the very same pipeline on gs://
// (fake-gcs-server) — landing, archive, tables, and the state folder with the ingestion log and
// the tombstones — and both targets end with the same rows.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGcsClient } from '../../src/adapters/storage/gcs/gcs-client.ts';
import { GcsObjectStore } from '../../src/adapters/storage/gcs/gcs-object-store.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import { lakelet } from '../support/cli.ts';
import { fakeGcsAvailable, useFakeGcs } from '../support/gcs-emulator.ts';
import { requirePeer } from '../support/peers.ts';
import { Workspace } from '../support/workspace.ts';
import { expected, expectOneCleanRun, HEADER, incremental, initial, yaml } from '../pipeline/accounts-fixture.ts';

const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);
const fake = useFakeGcs('lake', 'uploads', 'archive');

const config = (prefix: string) => `
stateDir: ./state
pipelines:
  accounts:
    landing: ./landing
    pattern: "*.csv"
    format: csv
    stage: ./tables/stage
    target: ./tables/accounts
    key: account_number
    orderBy: last_modified
    deletes: { column: op, values: [D] }
    archive: ./archive
    quarantine: ./quarantine
profiles:
  gcp:
    root: gs://lake/${prefix}
    pipelines:
      accounts: { landing: "gs://uploads/${prefix}/accounts", archive: "gs://archive/${prefix}/accounts" }
`;

describe.skipIf(gcsMode === 'skip')('profiles: the same lakelet.yml on local folders and on gs://', () => {
  let ws: Workspace | undefined;
  afterEach(() => ws?.cleanup());
  // In-process reads of the gs:// tables go to the emulator too.
  let saved: string | undefined;
  beforeAll(() => {
    saved = process.env.STORAGE_EMULATOR_HOST;
    process.env.STORAGE_EMULATOR_HOST = fake.gcs.endpoint;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = saved;
  });

  const store = (bucket: string, prefix: string) => {
    const client = createGcsClient({ STORAGE_EMULATOR_HOST: fake.gcs.endpoint });
    return new GcsObjectStore({ storage: client.storage, endpoint: client.endpoint, bucket, prefix });
  };
  const keys = async (s: GcsObjectStore, prefix = '') => (await s.list(prefix)).map((o) => o.key);
  async function rows(location: string): Promise<Record<string, unknown>[]> {
    const t = await DeltaTable.forPath(location);
    try {
      return await t.read({ orderBy: 'account_number' });
    } finally {
      t.close();
    }
  }

  it('--profile local and --profile gcp give the same target; on gcp every location, state and ingestion log included, is on gs://', async () => {
    const prefix = `p-${randomUUID().slice(0, 8)}`;
    ws = new Workspace(config(prefix));
    const env = { STORAGE_EMULATOR_HOST: fake.gcs.endpoint };
    const uploads = store('uploads', `${prefix}/accounts`);
    const lake = store('lake', prefix);
    const archive = store('archive', `${prefix}/accounts`);

    ws.land('landing/initial.csv', initial);
    ws.land('landing/incremental.csv', incremental);
    await uploads.put('initial.csv', initial);
    await uploads.put('incremental.csv', incremental);

    const local = await lakelet(['run', '--once', '-c', ws.configFile, '--json'], { env });
    expect(local.code, local.stderr).toBe(0);
    const gcp = await lakelet(['run', '--once', '-c', ws.configFile, '--json'], { env: { ...env, LAKELET_PROFILE: 'gcp' } });
    expect(gcp.code, gcp.stderr).toBe(0);
    const totals = (stdout: string) => {
      const { ms: _ms, ...rest } = JSON.parse(stdout).totals as Record<string, unknown>;
      return rest;
    };
    expect(totals(gcp.stdout)).toEqual(totals(local.stdout));
    expect(totals(gcp.stdout)).toMatchObject({ files: 2, merged: 2, rowsStaged: 8 });

    // Same rows in both targets, and they are the right ones.
    expect(await ws.rows('tables/accounts', 'account_number')).toEqual(expected);
    expect(await rows(`gs://lake/${prefix}/tables/accounts`)).toEqual(expected);

    // Local run: local folders only. gcp run: nothing local (no folder named 'gs:' either).
    expect(ws.files('archive').map((k) => k.split('/').pop()).sort()).toEqual(['incremental.csv', 'initial.csv']);
    expect(ws.files('').filter((f) => !/^(lakelet\.yml|landing|archive|tables|state)(\/|$)/.test(f))).toEqual([]);
    expect(await keys(uploads)).toEqual([]);
    expect((await keys(archive)).map((k) => k.split('/').pop()).sort()).toEqual(['incremental.csv', 'initial.csv']);
    const lakeKeys = await keys(lake);
    expect(lakeKeys.some((k) => k.startsWith('state/accounts/batches/'))).toBe(true);
    expect(lakeKeys.some((k) => k.startsWith('state/ingestion_log/_delta_log/'))).toBe(true);
    expect(lakeKeys.some((k) => k.startsWith('state/accounts/tombstones/_delta_log/'))).toBe(true);
    expect(lakeKeys.some((k) => k.startsWith('tables/stage/_delta_log/'))).toBe(true);
    expect(lakeKeys.filter((k) => k.startsWith('state/accounts/work/'))).toEqual([]);
    expect(lakeKeys).not.toContain('state/accounts/lock');

    // A second run on gcp reads its state back from gs://: a delivered-again file is a duplicate;
    // status (same profile, by flag) reads the ingestion log on gs://.
    await uploads.put('initial.csv', initial);
    const again = await lakelet(['run', '--once', '-c', ws.configFile, '--json', '--profile', 'gcp'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).totals).toMatchObject({ files: 1, duplicates: 1, rowsStaged: 0 });
    const status = await lakelet(['status', '-c', ws.configFile, '--json', '--profile', 'gcp'], { env });
    expect(status.code, status.stderr).toBe(0);
    const doc = JSON.parse(status.stdout);
    expect(JSON.stringify(doc)).toContain(`gs://uploads/${prefix}/accounts`);
    expect(doc.pipelines[0]).toMatchObject({ pipeline: 'accounts', batches: 2, merged: 2, duplicate: 1, waiting: 0 });
    expect(await rows(`gs://lake/${prefix}/tables/accounts`)).toEqual(expected);
  });

  it('lakelet generate --pipeline under a gs:// profile uploads the files into that landing, nothing local', async () => {
    const prefix = `g-${randomUUID().slice(0, 8)}`;
    ws = new Workspace(config(prefix).replace('key: account_number', 'key: customer_id'));
    const run = await lakelet(['generate', 'accounts', '--rows', '50', '--files', '2', '--pipeline', 'accounts', '-c', ws.configFile, '--json'], {
      env: { STORAGE_EMULATOR_HOST: fake.gcs.endpoint, LAKELET_PROFILE: 'gcp' },
    });
    expect(run.code, run.stderr).toBe(0);
    const paths = (JSON.parse(run.stdout) as { files: { path: string }[] }).files.map((f) => f.path);
    expect(paths).toEqual([`gs://uploads/${prefix}/accounts/accounts-b0000.csv`, `gs://uploads/${prefix}/accounts/accounts-b0001.csv`]);
    const uploads = store('uploads', `${prefix}/accounts`);
    expect(await keys(uploads)).toEqual(['accounts-b0000.csv', 'accounts-b0001.csv']);
    expect((await uploads.get('accounts-b0000.csv')).length).toBeGreaterThan(50 * 20);
    expect(ws.files('')).toEqual(['lakelet.yml']);
  });

  // The state folder on gs:// carries a crashed run's manifest to the next run: before the stage
  // commit (the batch is prepared again from landing) and after the files left landing.
  for (const point of ['after-manifest', 'after-archive']) {
    it(`stateDir and ingestion log on gs://: a run killed ${point} is finished by the next one`, async () => {
      const prefix = `c-${randomUUID().slice(0, 8)}`;
      const lake = store('lake', prefix);
      const uri = `gs://lake/${prefix}`;
      ws = new Workspace(yaml({ landing: `${uri}/landing`, archive: `${uri}/archive`, quarantine: `${uri}/quarantine` }).replace('stateDir: ./state', `stateDir: ${uri}/state`));
      await lake.put('landing/initial.csv', initial);
      await lake.put('landing/broken.csv', `${HEADER}\nC9,A9,1,1\n`);
      await lake.put('landing/incremental.csv', incremental);
      const env = { STORAGE_EMULATOR_HOST: fake.gcs.endpoint };
      const args = ['run', '--once', '-c', ws.configFile, '--json', '--log-format', 'json'];
      const crashed = await lakelet(args, { env: { ...env, LAKELET_CRASH_AT: point } });
      expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
      expect((await keys(lake, 'state/accounts/batches/')).length).toBeGreaterThan(0);
      const again = await lakelet(args, { env });
      await expectOneCleanRun(ws, again, false, async (folder) => (await lake.list(`${folder}/`)).map((m) => m.key.split('/').pop()!).sort());
      expect(ws.files('').filter((f) => f !== 'lakelet.yml' && !f.startsWith('tables/'))).toEqual([]);
    });
  }

  it('an unknown profile fails before anything runs, listing the profiles the file defines', async () => {
    ws = new Workspace(config('unused'));
    ws.land('landing/initial.csv', `${HEADER}\n`);
    const run = await lakelet(['run', '--once', '-c', ws.configFile, '--profile', 'gpc']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^lakelet: \S+lakelet\.yml: unknown profile 'gpc'/);
    expect(run.stderr).toContain('this file defines: local, gcp');
    expect(ws.files('tables')).toEqual([]);
  });
});
