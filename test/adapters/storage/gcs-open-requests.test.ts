// How many requests opening a checkpointed gs:// table costs: a 25-commit table (checkpoints at 10
// and 20) opened by a fresh handle, every request counted by a pass-through proxy in front of the
// emulator. Opening must start from the last checkpoint: read `_last_checkpoint`, list the log from
// the checkpoint on, read the checkpoint and the commits after it, and nothing older.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeltaTable } from '../../../src/engine/table.ts';
import { fakeGcsAvailable, startFakeGcs, type FakeGcs } from '../../support/gcs-emulator.ts';
import { startFaultProxy, type FaultProxy, type SeenRequest } from '../../support/fault-proxy.ts';
import { requirePeer } from '../../support/peers.ts';
import { useEngine } from '../../support/engine-fixture.ts';

const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);
const fx = useEngine();

/** The object a request names (decoded), and whether it lists, downloads or does something else. */
function classify(r: SeenRequest): { kind: 'list' | 'get' | 'other'; object?: string } {
  const url = new URL(r.url, 'http://x');
  if (r.method === 'GET' && /^\/storage\/v1\/b\/[^/]+\/o$/.test(url.pathname)) return { kind: 'list', object: url.searchParams.get('startOffset') ?? url.searchParams.get('prefix') ?? '' };
  const download = /^\/(?:download\/)?storage\/v1\/b\/[^/]+\/o\/(.+)$/.exec(url.pathname);
  if (r.method === 'GET' && download) return { kind: 'get', object: decodeURIComponent(download[1]) };
  return { kind: 'other', object: `${r.method} ${url.pathname}` };
}

describe.skipIf(gcsMode === 'skip')('opening a checkpointed gs:// table (fake-gcs-server)', () => {
  let gcs: FakeGcs;
  let proxy: FaultProxy;
  const savedHost = process.env.STORAGE_EMULATOR_HOST;
  beforeAll(async () => {
    gcs = await startFakeGcs();
    await gcs.createBucket('lake');
    proxy = await startFaultProxy(gcs.endpoint, () => 'pass');
    process.env.STORAGE_EMULATOR_HOST = proxy.endpoint;
  });
  afterAll(async () => {
    if (savedHost === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = savedHost;
    await proxy?.stop();
    await gcs?.stop();
  });

  it('a 25-commit table opens from checkpoint 20 (one _last_checkpoint read, one listing page, the checkpoint and 4 commits); a stale hint falls back to the whole log', async () => {
    const prefix = `open/t-${randomUUID().slice(0, 8)}`;
    const location = `gs://lake/${prefix}`;
    const writer = await DeltaTable.forPath(location, { compute: fx.compute });
    await writer.write({ sql: 'SELECT 0 AS id' }).execute();
    for (let v = 1; v < 25; v++) await writer.write({ sql: `SELECT ${v} AS id` }).mode('append').execute();
    writer.close();

    proxy.requests.length = 0;
    const fresh = await DeltaTable.forPath(location, { compute: fx.compute });
    const snap = await fresh.snapshot();
    expect(snap.version).toBe(24);
    expect(snap.files).toHaveLength(25);
    const log = `${prefix}/_delta_log/`;
    const pad = (v: number) => String(v).padStart(20, '0');
    // The hint and the listing come first, in that order; the checkpoint and the commits after it
    // are then read concurrently, so their order is not fixed (each exactly once).
    const opened = proxy.requests.map(classify);
    expect(opened.slice(0, 2)).toEqual([
      { kind: 'get', object: `${log}_last_checkpoint` },
      { kind: 'list', object: `${log}${pad(20)}` },
    ]);
    expect(opened.slice(2).map((r) => `${r.kind} ${r.object}`).sort()).toEqual(
      [`${log}${pad(20)}.checkpoint.parquet`, ...[21, 22, 23, 24].map((v) => `${log}${pad(v)}.json`)].map((o) => `get ${o}`).sort(),
    );
    fresh.close();

    // A hint naming a checkpoint that is gone: the whole log is listed and checkpoint 10 used.
    const del = await fetch(`${gcs.endpoint}/storage/v1/b/lake/o/${encodeURIComponent(`${log}${pad(20)}.checkpoint.parquet`)}`, { method: 'DELETE' });
    expect(del.ok).toBe(true);
    proxy.requests.length = 0;
    const stale = await DeltaTable.forPath(location, { compute: fx.compute });
    const again = await stale.snapshot();
    expect(again.version).toBe(24);
    expect(again.files).toHaveLength(25);
    const seen = proxy.requests.map(classify);
    expect(seen.filter((r) => r.kind === 'list').map((r) => r.object)).toEqual([`${log}${pad(20)}`, `${log}0`]);
    const gets = seen.filter((r) => r.kind === 'get').map((r) => r.object);
    expect(gets[0]).toBe(`${log}_last_checkpoint`);
    // The checkpoint the hint names is asked for once, while the log is listed (it is gone: that
    // read is dropped), then checkpoint 10 and the commits after it.
    expect(gets.slice(1).sort()).toEqual(
      [`${log}${pad(20)}.checkpoint.parquet`, `${log}${pad(10)}.checkpoint.parquet`, ...Array.from({ length: 14 }, (_, i) => `${log}${pad(11 + i)}.json`)].sort(),
    );
    stale.close();
  });
});
