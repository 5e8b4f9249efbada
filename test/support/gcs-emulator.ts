// The GCS emulator (fake-gcs-server, built by scripts/setup-peers.sh into .tools/bin) for tests:
// one server per test file on a free loopback port, in memory, stopped in afterAll.
//
//   const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);
//   const fake = useFakeGcs('lake');   // one server per file, with its buckets
//   describe.skipIf(gcsMode === 'skip')('...', () => { … fake.gcs.endpoint … });
import { afterAll, beforeAll } from 'vitest';
import { fakeGcsBinaryPath, startFakeGcsServer, type RunningFakeGcs } from '../../src/dev/fake-gcs.ts';
import { executable } from '../../src/dev/loopback.ts';

// The same starter the GCS demo uses (src/dev/fake-gcs.ts): the tests add the per-file lifecycle.
export { freePort } from '../../src/dev/loopback.ts';

/** The binary: $LAKELET_FAKE_GCS_SERVER or <repo>/.tools/bin/fake-gcs-server. */
export const fakeGcsBinary: string = fakeGcsBinaryPath();

export const fakeGcsAvailable: boolean = executable(fakeGcsBinary);

/** `endpoint` is `http://127.0.0.1:<port>`: what STORAGE_EMULATOR_HOST / apiEndpoint take. */
export type FakeGcs = RunningFakeGcs;

/** A server on a free loopback port, in memory (three tries when a port race is lost). */
export function startFakeGcs(): Promise<FakeGcs> {
  return startFakeGcsServer(fakeGcsBinary);
}

/**
 * One emulator for a whole test file, with these buckets: started before its tests, stopped after
 * them (nothing is started when the binary is missing: the file's suites are skipped or fail by
 * requirePeer then).
 */
export function useFakeGcs(...buckets: string[]): { readonly gcs: FakeGcs } {
  let current: FakeGcs | undefined;
  beforeAll(async () => {
    if (!fakeGcsAvailable) return;
    current = await startFakeGcs();
    for (const b of buckets) await current.createBucket(b);
  });
  afterAll(async () => {
    await current?.stop();
  });
  return {
    get gcs(): FakeGcs {
      if (!current) throw new Error('fake-gcs-server is not running (see test/support/gcs-emulator.ts)');
      return current;
    },
  };
}
