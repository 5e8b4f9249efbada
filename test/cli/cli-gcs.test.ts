// Every table command of the real `lakelet` CLI, run as child processes, on one gs:// table in the
// GCS emulator (STORAGE_EMULATOR_HOST in the children's environment): issue 10, point 2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lakelet, type CliRun } from '../support/cli.ts';
import { fakeGcsAvailable, startFakeGcs, type FakeGcs } from '../support/gcs-emulator.ts';
import { requirePeer } from '../support/peers.ts';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';

const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);

function ndjson(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
const byId = (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => Number(a.id) - Number(b.id));

describe.skipIf(gcsMode === 'skip')('lakelet CLI on a gs:// table (fake-gcs-server)', () => {
  let gcs: FakeGcs;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const table = 'gs://lake/warehouse/people';

  async function ok(...args: string[]): Promise<CliRun> {
    const run = await lakelet(args, { env });
    if (run.code !== 0) throw new Error(`lakelet ${args.join(' ')} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    return run;
  }
  /** Object names in the bucket under a prefix, straight from the emulator's JSON API. */
  async function bucketKeys(prefix: string): Promise<string[]> {
    const res = await fetch(`${gcs.endpoint}/storage/v1/b/lake/o?prefix=${encodeURIComponent(prefix)}&maxResults=1000`);
    return ((await res.json()) as { items?: { name: string }[] }).items?.map((i) => i.name) ?? [];
  }
  const rows = async (...extra: string[]) => byId(ndjson((await ok('read', table, '--format', 'ndjson', ...extra)).stdout));

  beforeAll(async () => {
    gcs = await startFakeGcs();
    await gcs.createBucket('lake');
    env = { ...process.env, STORAGE_EMULATOR_HOST: gcs.endpoint };
    dir = mkdtempSync(join(tmpdir(), 'lakelet-cli-gcs-'));
    writeFileSync(join(dir, 'people.csv'), 'id,name,day\n1,ann,2024-01-01\n2,bob,2024-01-01\n3,cy,2024-01-02\n');
    writeFileSync(join(dir, 'more.csv'), 'id,name,day\n4,dee,2024-01-02\n5,eve,2024-01-03\n');
    writeFileSync(join(dir, 'upsert.csv'), 'id,name,day\n2,bobby,2024-01-01\n6,fay,2024-01-03\n');
  });
  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await gcs?.stop();
  });

  it('write, read, merge, history, describe, delete, update, changes, optimize, restore, vacuum', async () => {
    const created = await ok('write', table, '--from', join(dir, 'people.csv'), '--partition-by', 'day', '--property', 'delta.enableChangeDataFeed=true');
    expect(created.stdout).toMatch(/^wrote version 0 of gs:\/\/lake\/warehouse\/people: 3 rows in 2 files/);
    await ok('write', table, '--from', join(dir, 'more.csv'), '--mode', 'append');
    expect((await rows('--columns', 'id,name')).map((r) => r.id)).toEqual(['1', '2', '3', '4', '5']);

    const merged = JSON.parse((await ok('merge', table, '--from', join(dir, 'upsert.csv'), '--on', 'id', '--json')).stdout);
    expect(merged).toMatchObject({ version: 2 });
    expect(await rows('--columns', 'id,name')).toEqual([
      { id: '1', name: 'ann' }, { id: '2', name: 'bobby' }, { id: '3', name: 'cy' },
      { id: '4', name: 'dee' }, { id: '5', name: 'eve' }, { id: '6', name: 'fay' },
    ]);

    await ok('delete', table, '--where', "name = 'cy'");
    await ok('update', table, '--set', "name = upper(name)", '--where', 'id = 1');
    expect((await rows('--columns', 'id,name')).map((r) => `${r.id}:${r.name}`)).toEqual(['1:ANN', '2:bobby', '4:dee', '5:eve', '6:fay']);

    const changes = ndjson((await ok('changes', table, '--from-version', '2', '--format', 'ndjson')).stdout);
    const kinds = changes.map((c) => `${c._commit_version}:${c._change_type}:${c.id}`).sort();
    expect(kinds).toEqual([
      '2:insert:6', '2:update_postimage:2', '2:update_preimage:2',
      '3:delete:3',
      '4:update_postimage:1', '4:update_preimage:1',
    ]);

    const optimized = JSON.parse((await ok('optimize', table, '--json')).stdout);
    expect(optimized.version).toBe(5);
    expect(optimized.numFilesRemoved).toBeGreaterThan(optimized.numFilesAdded);
    expect((await rows('--columns', 'id')).map((r) => r.id)).toEqual(['1', '2', '4', '5', '6']);

    const restored = JSON.parse((await ok('restore', table, '--version', '1', '--json')).stdout);
    expect(restored.version).toBe(6);
    expect(await rows('--columns', 'id,name')).toEqual([
      { id: '1', name: 'ann' }, { id: '2', name: 'bob' }, { id: '3', name: 'cy' }, { id: '4', name: 'dee' }, { id: '5', name: 'eve' },
    ]);
    expect((await rows('--columns', 'id', '--version', '4')).map((r) => r.id)).toEqual(['1', '2', '4', '5', '6']);

    const history = JSON.parse((await ok('history', table, '--json')).stdout) as { version: number; operation: string }[];
    expect(history.map((h) => h.version)).toEqual([6, 5, 4, 3, 2, 1, 0]);
    expect(history.map((h) => h.operation)).toEqual(['RESTORE', 'OPTIMIZE', 'UPDATE', 'DELETE', 'MERGE', 'WRITE', 'CREATE TABLE AS SELECT']);

    const described = JSON.parse((await ok('describe', table, '--json')).stdout);
    expect(described).toMatchObject({ version: 6, partitionColumns: ['day'], properties: { 'delta.enableChangeDataFeed': 'true' } });
    expect(described.table).toBe(table);

    // Vacuum with no retention deletes what restore and optimize left unreferenced; the table still reads.
    const dry = JSON.parse((await ok('vacuum', table, '--retain-hours', '0', '--force', '--dry-run', '--json')).stdout);
    const vac = JSON.parse((await ok('vacuum', table, '--retain-hours', '0', '--force', '--json')).stdout);
    expect(dry).toMatchObject({ dryRun: true });
    expect(vac).toMatchObject({ dryRun: false, numDeletedFiles: dry.numDeletedFiles });
    expect(vac.numDeletedFiles).toBeGreaterThan(0);
    expect([...vac.filesDeleted].sort()).toEqual([...dry.filesDeleted].sort());
    const left = await bucketKeys('warehouse/people/');
    for (const key of vac.filesDeleted as string[]) expect(left).not.toContain(`warehouse/people/${key}`);
    expect(left.filter((k) => k.endsWith('.parquet') && !k.includes('_delta_log/')).length).toBeGreaterThan(0);
    expect((await rows('--columns', 'id')).map((r) => r.id)).toEqual(['1', '2', '3', '4', '5']);
  });

  it('merges from a Delta table on gs://, refuses a data file on gs:// with a message saying what to do, alters properties', async () => {
    const target = 'gs://lake/warehouse/accounts';
    const source = 'gs://lake/staging/accounts';
    await ok('write', target, '--from', join(dir, 'people.csv'));
    await ok('write', source, '--from', join(dir, 'upsert.csv'));
    const merged = JSON.parse((await ok('merge', target, '--from', source, '--on', 'id', '--json')).stdout);
    expect(merged).toMatchObject({ version: 1 });
    const got = byId(ndjson((await ok('read', target, '--format', 'ndjson', '--columns', 'id,name')).stdout));
    expect(got.map((r) => `${r.id}:${r.name}`)).toEqual(['1:ann', '2:bobby', '3:cy', '6:fay']);

    for (const args of [
      ['write', target, '--from', 'gs://lake/incoming/more.csv', '--mode', 'append'],
      ['merge', target, '--from', 'gs://lake/incoming/more.csv', '--on', 'id'],
    ]) {
      const refused = await lakelet(args, { env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(
        "lakelet: gs://lake/incoming/more.csv: data files are read from local paths only (DuckDB's httpfs is not bundled); copy the file to local disk first, or give a Delta table.\n",
      );
    }
    // Nothing was committed by the refused commands.
    expect(JSON.parse((await ok('history', target, '--json')).stdout).map((h: { version: number }) => h.version)).toEqual([1, 0]);

    await ok('alter', target, '--property', 'delta.checkpointInterval=20');
    expect(JSON.parse((await ok('describe', target, '--json')).stdout)).toMatchObject({ version: 2, properties: { 'delta.checkpointInterval': '20' } });
  });

  it('takes a Parquet batch in the table layout into a gs:// table as it is (write and a plain upsert)', async () => {
    const target = 'gs://lake/warehouse/adopted';
    const compute = await openCompute({ memoryLimit: '1GB' });
    const first = join(dir, 'first.parquet');
    const batch = join(dir, 'batch.parquet');
    try {
      await compute.run(`COPY (SELECT range::BIGINT AS id, 'n' || range AS name FROM range(5)) TO '${first}' (FORMAT parquet, COMPRESSION zstd)`);
      await compute.run(`COPY (SELECT (range + 3)::BIGINT AS id, 'm' || range AS name FROM range(4)) TO '${batch}' (FORMAT parquet, COMPRESSION zstd)`);
    } finally {
      compute.close();
    }
    await ok('write', target, '--from', first);
    await ok('merge', target, '--from', batch, '--on', 'id');
    const got = byId(ndjson((await ok('read', target, '--format', 'ndjson')).stdout));
    expect(got.map((r) => `${r.id}:${r.name}`)).toEqual(['0:n0', '1:n1', '2:n2', '3:m0', '4:m1', '5:m2', '6:m3']);
    // Both files are in the bucket byte for byte (the merge rewrote the first file's kept rows).
    const objects = (await bucketKeys('warehouse/adopted/')).filter((k) => k.endsWith('.parquet'));
    const bytes = await Promise.all(objects.map(async (k) => Buffer.from(await (await fetch(`${gcs.endpoint}/storage/v1/b/lake/o/${encodeURIComponent(k)}?alt=media`)).arrayBuffer())));
    for (const source of [first, batch]) expect(bytes.some((b) => b.equals(readFileSync(source))), source).toBe(true);
    expect(await bucketKeys('warehouse/adopted/.lakelet-staging')).toEqual([]);
  });
});
