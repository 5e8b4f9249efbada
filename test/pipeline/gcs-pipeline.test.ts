// A pipeline whose landing, archive and quarantine are gs:// folders (fake-gcs-server), run through
// the real CLI with STORAGE_EMULATOR_HOST: the same exactly-once rules as on a local disk
// (exactly-once.test.ts, crash-matrix.test.ts), and a mix of local and gs:// locations.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createGcsClient } from '../../src/adapters/storage/gcs/gcs-client.ts';
import { GcsObjectStore } from '../../src/adapters/storage/gcs/gcs-object-store.ts';
import { lakelet, startLakelet } from '../support/cli.ts';
import { fakeGcsAvailable, useFakeGcs } from '../support/gcs-emulator.ts';
import { lakeletYaml, PIPELINE_DEFAULTS } from '../support/pipeline-yaml.ts';
import { requirePeer } from '../support/peers.ts';
import type { LiveProcess } from '../support/process.ts';
import { Workspace } from '../support/workspace.ts';
import { CRASH_POINTS, expected, expectOneCleanRun, HEADER, incremental, initial, yaml } from './accounts-fixture.ts';

const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);
const fake = useFakeGcs('lake');

/** `<yyyy>/<mm>/<dd>/<stamp>-<id>/<name>`: a batch's dated folder (file-mover.ts batchFolder). */
const DATED = /^\d{4}\/\d{2}\/\d{2}\/\d{8}T\d{9}Z-[^/]+\/[^/]+$/;

describe.skipIf(gcsMode === 'skip')('pipelines on gs:// (fake-gcs-server, real CLI)', () => {
  let ws: Workspace | undefined;
  afterEach(() => ws?.cleanup());

  /** A fresh folder of the bucket per test, and a store on it to upload and list with. */
  function bucketFolder(): { uri: string; store: GcsObjectStore } {
    const prefix = `run-${randomUUID().slice(0, 8)}`;
    const client = createGcsClient({ STORAGE_EMULATOR_HOST: fake.gcs.endpoint });
    return { uri: `gs://lake/${prefix}`, store: new GcsObjectStore({ storage: client.storage, endpoint: client.endpoint, bucket: 'lake', prefix }) };
  }
  const keys = async (store: GcsObjectStore, prefix: string) => (await store.list(prefix)).map((m) => m.key.slice(prefix.length));
  const env = () => ({ STORAGE_EMULATOR_HOST: fake.gcs.endpoint });

  it('landing, archive and quarantine on gs://: merged, archived under the dated prefix, the bad file quarantined with its .error.json', async () => {
    const { uri, store } = bucketFolder();
    ws = new Workspace(yaml({ landing: `${uri}/landing`, archive: `${uri}/archive`, quarantine: `${uri}/quarantine` }));
    await store.put('landing/initial.csv', initial);
    await store.put('landing/broken.csv', `${HEADER}\nC9,A9,1,1\n`);
    await store.put('landing/incremental.csv', incremental);
    const run = await lakelet(['run', '--once', '-c', ws.configFile, '--json', '--log-format', 'json'], { env: env() });
    expect(run.code, run.stderr).toBe(3); // broken.csv quarantined: not everything went in
    expect(await ws.rows('tables/accounts', 'account_number')).toEqual(expected);
    expect(await keys(store, 'landing/')).toEqual([]);
    const archived = await keys(store, 'archive/');
    expect(archived.map((k) => k.split('/').pop()).sort()).toEqual(['incremental.csv', 'initial.csv']);
    for (const k of archived) expect(k).toMatch(DATED);
    expect(new TextDecoder().decode(await store.get(`archive/${archived.find((k) => k.endsWith('initial.csv'))}`))).toBe(initial);
    const quarantined = await keys(store, 'quarantine/');
    expect(quarantined.map((k) => k.split('/').pop()).sort()).toEqual(['broken.csv', 'broken.csv.error.json']);
    const errorDoc = JSON.parse(new TextDecoder().decode(await store.get(`quarantine/${quarantined.find((k) => k.endsWith('.error.json'))}`)));
    expect(JSON.stringify(errorDoc)).toContain('broken.csv');
    const log = await ws.log();
    expect(log.map((r) => [r.file_name, r.status, r.records]).sort()).toEqual([
      ['broken.csv', 'quarantined', '0'],
      ['incremental.csv', 'merged', '4'],
      ['initial.csv', 'merged', '4'],
    ]);
  });

  it('a file delivered twice (same bytes) is logged as duplicate, archived again, not applied again; same name with new bytes is a new delivery', async () => {
    const { uri, store } = bucketFolder();
    ws = new Workspace(yaml({ landing: `${uri}/landing`, archive: `${uri}/archive`, quarantine: `${uri}/quarantine` }));
    const args = ['run', '--once', '-c', ws.configFile, '--json'];
    await store.put('landing/initial.csv', initial);
    expect((await lakelet(args, { env: env() })).code).toBe(0);
    await store.put('landing/incremental.csv', incremental);
    expect((await lakelet(args, { env: env() })).code).toBe(0);
    await store.put('landing/initial.csv', initial);
    const third = await lakelet(args, { env: env() });
    expect(third.code, third.stderr).toBe(0);
    expect(JSON.parse(third.stdout).totals).toMatchObject({ files: 1, duplicates: 1, rowsStaged: 0, rowsInserted: 0 });
    expect(await ws.rows('tables/accounts', 'account_number')).toEqual(expected);
    expect(await keys(store, 'landing/')).toEqual([]);
    expect((await keys(store, 'archive/')).filter((k) => k.endsWith('/initial.csv'))).toHaveLength(2);
    expect((await ws.log()).map((r) => [r.batch, r.file_name, r.status])).toEqual([
      ['1', 'initial.csv', 'merged'],
      ['2', 'incremental.csv', 'merged'],
      ['3', 'initial.csv', 'duplicate'],
    ]);
    await store.put('landing/initial.csv', `${HEADER}\nC9,A9,1,1,2024-02-01 00:00:00,I\n`);
    const fourth = await lakelet(args, { env: env() });
    expect(fourth.code, fourth.stderr).toBe(0);
    expect(JSON.parse(fourth.stdout).totals).toMatchObject({ duplicates: 0, rowsInserted: 1 });
  });

  it('stage and target tables on gs:// as well: everything but the state folder in the bucket', async () => {
    const { uri, store } = bucketFolder();
    ws = new Workspace(yaml({ landing: `${uri}/landing`, archive: `${uri}/archive`, quarantine: `${uri}/quarantine`, stage: `${uri}/tables/stage`, target: `${uri}/tables/accounts` }));
    await store.put('landing/initial.csv', initial);
    await store.put('landing/incremental.csv', incremental);
    const run = await lakelet(['run', '--once', '-c', ws.configFile, '--json'], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    const read = await lakelet(['read', `${uri}/tables/accounts`, '--format', 'ndjson'], { env: env() });
    expect(read.code, read.stderr).toBe(0);
    const rows = read.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).sort((a, b) => String(a.account_number).localeCompare(String(b.account_number)));
    expect(rows.map((r) => [r.account_number, r.credit_score, r.account_balance])).toEqual(expected.map((r) => [r.account_number, r.credit_score, r.account_balance]));
    expect((await keys(store, 'tables/accounts/_delta_log/')).length).toBeGreaterThan(0);
    expect(ws.files('tables')).toEqual([]);
    expect(await keys(store, 'landing/')).toEqual([]);
    expect((await keys(store, 'archive/')).map((k) => k.split('/').pop()).sort()).toEqual(['incremental.csv', 'initial.csv']);
  });

  it('a local landing with a gs:// archive and quarantine (a mix)', async () => {
    const { uri, store } = bucketFolder();
    ws = new Workspace(yaml({ archive: `${uri}/archive`, quarantine: `${uri}/quarantine` }));
    ws.land('landing/initial.csv', initial);
    ws.land('landing/broken.csv', `${HEADER}\nC9,A9,1,1\n`);
    ws.land('landing/incremental.csv', incremental);
    const run = await lakelet(['run', '--once', '-c', ws.configFile, '--json'], { env: env() });
    expect(run.code, run.stderr).toBe(3);
    expect(await ws.rows('tables/accounts', 'account_number')).toEqual(expected);
    expect(ws.files('landing')).toEqual([]);
    const archived = await keys(store, 'archive/');
    expect(archived.map((k) => k.split('/').pop()).sort()).toEqual(['incremental.csv', 'initial.csv']);
    for (const k of archived) expect(k).toMatch(DATED);
    expect((await keys(store, 'quarantine/')).map((k) => k.split('/').pop()).sort()).toEqual(['broken.csv', 'broken.csv.error.json']);
  });

  it('a gs:// landing with a local archive and quarantine (the other mix)', async () => {
    const { uri, store } = bucketFolder();
    ws = new Workspace(yaml({ landing: `${uri}/landing` }));
    await store.put('landing/initial.csv', initial);
    await store.put('landing/broken.csv', `${HEADER}\nC9,A9,1,1\n`);
    const run = await lakelet(['run', '--once', '-c', ws.configFile, '--json'], { env: env() });
    expect(run.code, run.stderr).toBe(3);
    expect(await keys(store, 'landing/')).toEqual([]);
    expect(ws.files('archive').map((f) => f.split('/').pop())).toEqual(['initial.csv']);
    expect(ws.files('quarantine').map((f) => f.split('/').pop()).sort()).toEqual(['broken.csv', 'broken.csv.error.json']);
  });
});

/** crash-matrix.test.ts on gs://: SIGKILL at each step boundary, then run again; exactly one clean run's result. */

describe.skipIf(gcsMode === 'skip')('crash matrix on gs:// landing, archive and quarantine', () => {
  let ws: Workspace | undefined;
  afterEach(() => ws?.cleanup());

  for (const point of CRASH_POINTS) {
    it(`crash ${point}`, async () => {
      const secondBatch = point.endsWith(':2');
      const prefix = `run-${randomUUID().slice(0, 8)}`;
      const client = createGcsClient({ STORAGE_EMULATOR_HOST: fake.gcs.endpoint });
      const store = new GcsObjectStore({ storage: client.storage, endpoint: client.endpoint, bucket: 'lake', prefix });
      const uri = `gs://lake/${prefix}`;
      ws = new Workspace(yaml({ landing: `${uri}/landing`, archive: `${uri}/archive`, quarantine: `${uri}/quarantine`, ...(secondBatch ? { batch: { maxFiles: 2 } } : {}) }));
      await store.put('landing/initial.csv', initial);
      await store.put('landing/broken.csv', `${HEADER}\nC9,A9,1,1\n`);
      await store.put('landing/incremental.csv', incremental);
      const env = { STORAGE_EMULATOR_HOST: fake.gcs.endpoint };
      const args = ['run', '--once', '-c', ws.configFile, '--json', '--log-format', 'json'];
      const crashed = await lakelet(args, { env: { ...env, LAKELET_CRASH_AT: point } });
      expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
      const again = await lakelet(args, { env });
      await expectOneCleanRun(ws, again, secondBatch, async (folder) => (await store.list(`${folder}/`)).map((m) => m.key.split('/').pop()!).sort());
    });
  }
});

describe.skipIf(gcsMode === 'skip')('lakelet watch on a gs:// landing (polling its listing, real CLI)', () => {
  let ws: Workspace | undefined;
  let watch: LiveProcess | undefined;
  afterEach(() => {
    if (watch && watch.child.exitCode === null) watch.child.kill('SIGKILL');
    ws?.cleanup();
  });

  function bucketFolder(): { uri: string; store: GcsObjectStore } {
    const prefix = `watch-${randomUUID().slice(0, 8)}`;
    const client = createGcsClient({ STORAGE_EMULATOR_HOST: fake.gcs.endpoint });
    return { uri: `gs://lake/${prefix}`, store: new GcsObjectStore({ storage: client.storage, endpoint: client.endpoint, bucket: 'lake', prefix }) };
  }
  async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}: ${watch?.stderr()}`);
  }
  const events = () => watch!.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const keys = async (store: GcsObjectStore, prefix: string) => (await store.list(prefix)).map((m) => m.key.slice(prefix.length));
  const logged = async (name: string) => (await ws!.log()).some((r) => r.file_name === name);

  it('files uploaded while it runs are merged as they arrive; SIGTERM prints the summary', async () => {
    const { uri, store } = bucketFolder();
    ws = new Workspace(yaml({ landing: `${uri}/landing`, archive: `${uri}/archive`, quarantine: `${uri}/quarantine` }));
    watch = startLakelet(['watch', '-c', ws.configFile, '--interval-ms', '100', '--log-format', 'json', '--json'], { cwd: ws.dir, env: { STORAGE_EMULATOR_HOST: fake.gcs.endpoint } });
    await until('watch.started', () => events().some((e) => e.event === 'watch.started'));
    await store.put('landing/initial.csv', initial);
    await until('initial.csv logged', () => logged('initial.csv'));
    await store.put('landing/incremental.csv', incremental);
    await until('incremental.csv logged', () => logged('incremental.csv'));
    expect((await ws.log()).map((r) => [r.batch, r.file_name, r.status, r.records])).toEqual([
      ['1', 'initial.csv', 'merged', '4'],
      ['2', 'incremental.csv', 'merged', '4'],
    ]);
    expect(await ws.rows('tables/accounts', 'account_number')).toEqual(expected);
    expect(await keys(store, 'landing/')).toEqual([]);
    expect((await keys(store, 'archive/')).map((k) => k.split('/').pop()).sort()).toEqual(['incremental.csv', 'initial.csv']);
    expect(ws.files('.').filter((f) => f.startsWith('gs:'))).toEqual([]);
    watch.child.kill('SIGTERM');
    const { code } = await watch.exited;
    expect(code, watch.stderr()).toBe(0);
    expect(JSON.parse(watch.stdout()).totals).toMatchObject({ files: 2, merged: 2, rowsStaged: 8 });
  });

  it('a config mixing a gs:// landing and a local one watches both', async () => {
    const { uri, store } = bucketFolder();
    const accounts = { ...PIPELINE_DEFAULTS, pattern: '*.csv', landing: `${uri}/landing`, archive: `${uri}/archive`, quarantine: `${uri}/quarantine`, stage: './tables/accounts-stage', target: './tables/accounts', key: 'account_number', orderBy: 'last_modified', deletes: { column: 'op', values: ['D'] } };
    ws = new Workspace(lakeletYaml({ accounts, local: { ...PIPELINE_DEFAULTS, pattern: '*.csv' } }, { stateDir: './state' }));
    watch = startLakelet(['watch', '-c', ws.configFile, '--interval-ms', '100', '--stable-ms', '200', '--log-format', 'json', '--json'], { cwd: ws.dir, env: { STORAGE_EMULATOR_HOST: fake.gcs.endpoint } });
    await until('watch.started', () => events().some((e) => e.event === 'watch.started'));
    await store.put('landing/initial.csv', initial);
    ws.land('landing/events.csv', 'id,v\n1,one\n2,two\n');
    await until('both logged', async () => (await logged('initial.csv')) && (await logged('events.csv')));
    expect((await ws.log()).map((r) => [r.pipeline, r.file_name, r.status]).sort()).toEqual([
      ['accounts', 'initial.csv', 'merged'],
      ['local', 'events.csv', 'merged'],
    ]);
    expect((await ws.rows('tables/target', 'id')).length).toBe(2);
    expect((await ws.rows('tables/accounts', 'account_number')).length).toBe(4);
    watch.child.kill('SIGTERM');
    const { code } = await watch.exited;
    expect(code, watch.stderr()).toBe(0);
    expect(JSON.parse(watch.stdout()).totals).toMatchObject({ files: 2, merged: 2 });
  });
});
