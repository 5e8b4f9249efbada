// StorePollTrigger against fake-gcs-server: objects are reported once their listing is stable,
// a re-uploaded object (new generation, even at the same size) is reported again, an unchanged
// one is not, and the trigger only ever lists (a counting proxy sees no object read at all).
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGcsClient } from '../../../src/adapters/storage/gcs/gcs-client.ts';
import { GcsObjectStore } from '../../../src/adapters/storage/gcs/gcs-object-store.ts';
import type { FileArrival } from '../../../src/adapters/trigger/file-trigger.ts';
import { StorePollTrigger } from '../../../src/adapters/trigger/store-poll/store-poll-trigger.ts';
import { startFaultProxy, type FaultProxy, type SeenRequest } from '../../support/fault-proxy.ts';
import { fakeGcsAvailable, startFakeGcs, type FakeGcs } from '../../support/gcs-emulator.ts';
import { requirePeer } from '../../support/peers.ts';

const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);

const isListing = (r: SeenRequest) => r.method === 'GET' && /^\/storage\/v1\/b\/[^/]+\/o$/.test(new URL(r.url, 'http://x').pathname);

describe.skipIf(gcsMode === 'skip')('StorePollTrigger on a gs:// landing (fake-gcs-server)', () => {
  let gcs: FakeGcs;
  let proxy: FaultProxy;
  let trigger: StorePollTrigger | undefined;
  beforeAll(async () => {
    gcs = await startFakeGcs();
    await gcs.createBucket('lake');
    proxy = await startFaultProxy(gcs.endpoint, () => 'pass');
  });
  afterEach(() => trigger?.close());
  afterAll(async () => {
    await proxy?.stop();
    await gcs?.stop();
  });

  /** A store on `prefix`, straight to the emulator (uploads) or through the counting proxy (the trigger's). */
  function store(prefix: string, via: string): GcsObjectStore {
    const client = createGcsClient({ STORAGE_EMULATOR_HOST: via });
    return new GcsObjectStore({ storage: client.storage, endpoint: client.endpoint, bucket: 'lake', prefix });
  }
  /** Waits until the trigger has listed `n` more times (counted by the proxy, not by the clock). */
  async function listings(n: number): Promise<void> {
    const target = proxy.requests.filter(isListing).length + n;
    const end = Date.now() + 30_000;
    while (proxy.requests.filter(isListing).length < target) {
      if (Date.now() > end) throw new Error(`the trigger did not list ${n} more times`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('reports each (key, generation) once, reports a re-upload again, never reads an object', async () => {
    const prefix = `poll-${randomUUID().slice(0, 8)}/landing`;
    const uploads = store(prefix, gcs.endpoint);
    await uploads.put('a.csv', 'id,v\n1,one\n');
    await uploads.put('sub/b.csv', 'id,v\n2,two\n');
    await uploads.put('.lakelet-tmp-x', 'partial');
    const dir = `gs://lake/${prefix}`;
    const reports: FileArrival[] = [];
    const errors: Error[] = [];
    const before = proxy.requests.length;
    trigger = new StorePollTrigger([{ dir, store: store(prefix, proxy.endpoint) }], 20, (_d, err) => errors.push(err));
    await trigger.start((files) => reports.push(...files));
    await listings(2);
    expect(reports.map((f) => [f.dir, f.key]).sort()).toEqual([
      [dir, 'a.csv'],
      [dir, 'sub/b.csv'],
    ]);
    expect(reports.find((f) => f.key === 'a.csv')!.size).toBe(11);

    // Unchanged objects are not reported again, however often the landing is listed.
    await listings(4);
    expect(reports).toHaveLength(2);

    // Same name, same size, new bytes: a new generation, so a new arrival (once).
    await uploads.put('a.csv', 'id,v\n1,uno\n');
    await listings(4);
    expect(reports.map((f) => f.key).sort()).toEqual(['a.csv', 'a.csv', 'sub/b.csv']);

    // An object that goes (archived) and a new one: only the new one is reported.
    await uploads.delete('sub/b.csv');
    await uploads.put('c.csv', 'id,v\n3,three\n');
    await listings(4);
    expect(reports.map((f) => f.key).sort()).toEqual(['a.csv', 'a.csv', 'c.csv', 'sub/b.csv']);

    await trigger.close();
    expect(errors).toEqual([]);
    const mine = proxy.requests.slice(before);
    expect(mine.filter(isListing).length).toBeGreaterThanOrEqual(14);
    expect(mine.filter((r) => !isListing(r)).map((r) => `${r.method} ${r.url}`)).toEqual([]);
  });

  it('a failing listing is reported to onError and polling goes on', async () => {
    const prefix = `poll-${randomUUID().slice(0, 8)}/landing`;
    const errors: string[] = [];
    const reports: FileArrival[] = [];
    const client = createGcsClient({ STORAGE_EMULATOR_HOST: proxy.endpoint });
    const missing = new GcsObjectStore({ storage: client.storage, endpoint: client.endpoint, bucket: 'no-such-bucket', prefix, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    trigger = new StorePollTrigger([{ dir: 'gs://no-such-bucket/x', store: missing }], 20, (d, err) => errors.push(`${d}: ${err.message}`));
    await trigger.start((files) => reports.push(...files));
    await listings(3);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]).toContain('gs://no-such-bucket/x');
    expect(reports).toEqual([]);
  });
});
