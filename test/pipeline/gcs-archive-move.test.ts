// moveOnce between gs:// stores (fake-gcs-server): the archive's copy is create-only and the source
// is deleted only in the generation that was checked (ifGenerationMatch), so a file re-uploaded
// between the copy and the delete stays for the next batch.
//
// EMULATOR GAP: fake-gcs-server v1.56.1 ignores ifGenerationMatch on DELETE (it deletes whatever
// generation is live; see /work/shared/GCP-EMULATORS.md). So these tests (1) assert that the DELETE
// request carries ifGenerationMatch=<the generation moveOnce verified>, and (2) enforce the
// precondition in the fault proxy in front of the emulator (412 when the generation asked for is not
// the live one, as GCS answers), to check what moveOnce does with that answer.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcsClient } from '../../src/adapters/storage/gcs/gcs-client.ts';
import { GcsObjectStore } from '../../src/adapters/storage/gcs/gcs-object-store.ts';
import type { ObjectStore } from '../../src/adapters/storage/object-store.ts';
import { moveOnce, sha256 } from '../../src/pipeline/file-mover.ts';
import { fakeGcsAvailable, startFakeGcs, type FakeGcs } from '../support/gcs-emulator.ts';
import { startFaultProxy, type Fault, type FaultProxy } from '../support/fault-proxy.ts';
import { requirePeer } from '../support/peers.ts';

const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);

describe.skipIf(gcsMode === 'skip')('moveOnce on gs:// (generation-guarded delete)', () => {
  let gcs: FakeGcs;
  let proxy: FaultProxy;
  /** The generation GCS would hold live for the landed key; the proxy plays GCS's precondition with it. */
  let liveGeneration: string | undefined;

  beforeAll(async () => {
    gcs = await startFakeGcs();
    await gcs.createBucket('landing');
    await gcs.createBucket('archive');
    proxy = await startFaultProxy(gcs.endpoint, (req: IncomingMessage): Fault => {
      if (req.method !== 'DELETE' || liveGeneration === undefined) return 'pass';
      const asked = new URL(req.url ?? '/', 'http://x').searchParams.get('ifGenerationMatch');
      return asked !== null && asked !== liveGeneration ? { status: 412 } : 'pass';
    });
  });
  afterAll(async () => {
    await proxy?.stop();
    await gcs?.stop();
  });

  function stores(): { landing: GcsObjectStore; archive: GcsObjectStore } {
    const client = createGcsClient({ STORAGE_EMULATOR_HOST: proxy.endpoint });
    const run = randomUUID().slice(0, 8);
    const at = (bucket: string) => new GcsObjectStore({ storage: client.storage, endpoint: client.endpoint, bucket, prefix: `t-${run}`, retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10 } });
    return { landing: at('landing'), archive: at('archive') };
  }

  it('deletes the source with ifGenerationMatch = the generation it checked', async () => {
    liveGeneration = undefined;
    const { landing, archive } = stores();
    const bytes = new TextEncoder().encode('id,v\n1,a\n');
    await landing.put('a.csv', bytes);
    const gen = (await landing.head('a.csv'))!.generation;
    expect(gen).toMatch(/^\d+$/);
    const before = proxy.requests.length;
    expect(await moveOnce(landing, 'a.csv', archive, '2026/12/01/x/a.csv', sha256(bytes), 'p')).toBe('moved');
    const deletes = proxy.requests.slice(before).filter((r) => r.method === 'DELETE');
    expect(deletes).toHaveLength(1);
    expect(new URL(deletes[0]!.url, 'http://x').searchParams.get('ifGenerationMatch')).toBe(gen);
    expect(await landing.head('a.csv')).toBeUndefined();
    expect(sha256(await archive.get('2026/12/01/x/a.csv'))).toBe(sha256(bytes));
  });

  it('leaves a file re-uploaded between the copy and the delete, and reports it copied', async () => {
    const { landing, archive } = stores();
    const first = new TextEncoder().encode('id,v\n1,a\n');
    const second = new TextEncoder().encode('id,v\n1,b\n');
    await landing.put('a.csv', first);
    // The archive's create succeeds, then a new delivery lands under the same name before the delete.
    const racing: ObjectStore = Object.create(archive, {
      putIfAbsent: {
        value: async (key: string, data: Uint8Array | string) => {
          const created = await archive.putIfAbsent(key, data);
          await landing.put('a.csv', second);
          liveGeneration = (await landing.head('a.csv'))!.generation;
          return created;
        },
      },
    });
    const r = await moveOnce(landing, 'a.csv', racing, '2026/12/01/x/a.csv', sha256(first), 'p');
    liveGeneration = undefined;
    expect(r).toBe('copied');
    expect(sha256(await landing.get('a.csv'))).toBe(sha256(second));
    expect(sha256(await archive.get('2026/12/01/x/a.csv'))).toBe(sha256(first));
  });
});
