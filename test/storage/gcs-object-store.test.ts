// GcsObjectStore against a real fake-gcs-server (test/support/gcs-emulator.ts): the ObjectStore
// contract under a folder and at a bucket's root, then what is GCS's own: put-if-absent by
// generation precondition, retries (through a fault-injecting proxy), paged listings, ranges, errors.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsObjectStore } from '../../src/adapters/storage/gcs/gcs-object-store.ts';
import { createGcsClient } from '../../src/adapters/storage/gcs/gcs-client.ts';
import type { RetryPolicy } from '../../src/adapters/retry.ts';
import { objectStoreContract } from '../contract/object-store-contract.ts';
import { fakeGcsAvailable, startFakeGcs, type FakeGcs } from '../support/gcs-emulator.ts';
import { requirePeer } from '../support/peers.ts';

const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);

let gcs: FakeGcs | undefined;
let started: Promise<FakeGcs> | undefined;
/** The emulator, started on first use (the contract's factory runs inside tests, not in a beforeAll). */
function emulator(): Promise<FakeGcs> {
  started ??= startFakeGcs().then(async (g) => {
    gcs = g;
    await g.createBucket('lake');
    return g;
  });
  return started;
}
afterAll(async () => {
  await gcs?.stop();
});

/** Fast retries for tests: the same code path, shorter waits. */
const FAST_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 5, maxDelayMs: 40 };

function storeAt(endpoint: string, bucket: string, prefix: string, extra: Partial<ConstructorParameters<typeof GcsObjectStore>[0]> = {}): GcsObjectStore {
  const client = createGcsClient({ STORAGE_EMULATOR_HOST: endpoint });
  return new GcsObjectStore({ storage: client.storage, endpoint: client.endpoint, bucket, prefix, retry: FAST_RETRY, ...extra });
}

if (gcsMode === 'run') {
  objectStoreContract('GcsObjectStore (fake-gcs-server, under a folder)', async () => {
    const g = await emulator();
    return { store: storeAt(g.endpoint, 'lake', `contract/${randomUUID()}`), cleanup: async () => {} };
  });

  objectStoreContract('GcsObjectStore (fake-gcs-server, at the root of a bucket)', async () => {
    const g = await emulator();
    const bucket = `b-${randomUUID().slice(0, 18)}`;
    await g.createBucket(bucket);
    return { store: storeAt(g.endpoint, bucket, ''), cleanup: async () => {} };
  });
}
