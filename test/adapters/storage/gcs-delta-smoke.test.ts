// A Delta table on gs:// through the emulator, opened the way the CLI opens one (DeltaTable.forPath
// with a gs:// location: openStore, STORAGE_EMULATOR_HOST). A smoke test only: every command and
// concurrent writers on gs:// are issue 10's second point.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeltaTable } from '../../../src/engine/table.ts';
import { GcsObjectStore } from '../../../src/adapters/storage/gcs/gcs-object-store.ts';
import { fakeGcsAvailable, startFakeGcs, type FakeGcs } from '../../support/gcs-emulator.ts';
import { requirePeer } from '../../support/peers.ts';
import { useEngine } from '../../support/engine-fixture.ts';

const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);
const fx = useEngine();

describe.skipIf(gcsMode === 'skip')('a Delta table on gs:// (fake-gcs-server)', () => {
  let gcs: FakeGcs;
  const savedHost = process.env.STORAGE_EMULATOR_HOST;
  beforeAll(async () => {
    gcs = await startFakeGcs();
    await gcs.createBucket('lake');
    // Written as the gcloud tools write it (no scheme); openStore turns it into the client's apiEndpoint.
    process.env.STORAGE_EMULATOR_HOST = gcs.endpoint.replace(/^http:\/\//, '');
  });
  afterAll(async () => {
    if (savedHost === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = savedHost;
    await gcs?.stop();
  });

  it('writes, appends, merges and reads back; the log and the data files are objects in the bucket', async () => {
    const location = `gs://lake/warehouse/orders-${randomUUID().slice(0, 8)}`;
    const t = await DeltaTable.forPath(location, { compute: fx.compute });
    expect(t.uri).toBe(location);
    expect(t.ctx.store).toBeInstanceOf(GcsObjectStore);
    await t.write({ sql: `SELECT range AS id, 'v' || range AS v FROM range(10)` }).execute();
    await t.write({ sql: `SELECT 10 AS id, 'v10' AS v` }).mode('append').execute();
    const merged = await t
      .merge({ sql: `SELECT * FROM (VALUES (3, 'three'), (42, 'forty-two')) s(id, v)` }, { on: ['id'] })
      .whenMatchedUpdateAll()
      .whenNotMatchedInsertAll()
      .execute();
    expect(merged.version).toBe(2);
    t.close();

    // A fresh handle reads everything from the bucket (through the local cache of remote objects).
    const again = await DeltaTable.forPath(location, { compute: fx.compute });
    const rows = await again.read({ orderBy: 'id' });
    expect(rows).toHaveLength(12);
    expect(rows.find((r) => String(r.id) === '3')?.v).toBe('three');
    expect(rows.find((r) => String(r.id) === '42')?.v).toBe('forty-two');
    expect((await again.history()).map((h) => h.version)).toEqual([2, 1, 0]);
    const keys = (await again.ctx.store.list('')).map((m) => m.key);
    expect(keys.filter((k) => k.startsWith('_delta_log/') && k.endsWith('.json'))).toEqual([0, 1, 2].map((v) => `_delta_log/${String(v).padStart(20, '0')}.json`));
    expect(keys.some((k) => k.endsWith('.parquet') && !k.startsWith('_delta_log/'))).toBe(true);
    again.close();
  });
});
