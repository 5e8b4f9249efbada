// GcsObjectStore against a real fake-gcs-server (test/support/gcs-emulator.ts): the ObjectStore
// contract under a folder and at a bucket's root, then what is GCS's own: put-if-absent by
// generation precondition, retries (through a fault-injecting proxy), paged listings, ranges, errors.
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { GcsObjectStore } from '../../../src/adapters/storage/gcs/gcs-object-store.ts';
import { GcsError } from '../../../src/adapters/storage/gcs/gcs-error.ts';
import { InvalidObjectKeyError } from '../../../src/adapters/storage/object-store.ts';
import { createGcsClient, emulatorEndpoint, parseGsUri } from '../../../src/adapters/storage/gcs/gcs-client.ts';
import { openStore } from '../../../src/adapters/storage/open-store.ts';
import { InputError } from '../../../src/errors/lakelet-error.ts';
import type { RetryPolicy } from '../../../src/adapters/retry.ts';
import { objectStoreContract } from '../../contract/object-store-contract.ts';
import { fakeGcsAvailable, startFakeGcs, type FakeGcs } from '../../support/gcs-emulator.ts';
import { startFaultProxy, type Fault, type FaultProxy, type SeenRequest } from '../../support/fault-proxy.ts';
import { requirePeer } from '../../support/peers.ts';

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

// ---------------------------------------------------------------------------------------------
// What is GCS's own. Requests go through a fault-injecting proxy in front of the emulator, which
// counts them: retries are seen as requests, not inferred.
// ---------------------------------------------------------------------------------------------

const isUpload = (r: SeenRequest) => r.method === 'POST' && r.url.startsWith('/upload/storage/v1/b/');
const isList = (r: SeenRequest) => r.method === 'GET' && /^\/storage\/v1\/b\/[^/]+\/o(\?|$)/.test(r.url);
const isDownload = (r: SeenRequest) => r.method === 'GET' && /[?&]alt=media/.test(r.url);

/** A proxy in front of the emulator whose faults the test sets as it goes (`faults` is consumed in order; then 'pass'). */
async function proxied(match: (r: IncomingMessage) => boolean = () => true) {
  const g = await emulator();
  const faults: Fault[] = [];
  const proxy = await startFaultProxy(g.endpoint, (req) => (match(req) && faults.length > 0 ? faults.shift()! : 'pass'));
  proxies.push(proxy);
  return { proxy, faults, requests: proxy.requests };
}
const proxies: FaultProxy[] = [];
afterAll(async () => {
  for (const p of proxies) await p.stop();
});

const text = new TextDecoder();
const folder = () => `specifics/${randomUUID()}`;

describe.skipIf(gcsMode === 'skip')('GcsObjectStore on fake-gcs-server', () => {
  describe('putIfAbsent', () => {
    it('sends ifGenerationMatch=0; a taken name is one 412, answered false and never retried', async () => {
      const { proxy, requests } = await proxied();
      const store = storeAt(proxy.endpoint, 'lake', folder());
      expect(await store.putIfAbsent('_delta_log/00000000000000000000.json', 'first')).toBe(true);
      requests.length = 0;
      expect(await store.putIfAbsent('_delta_log/00000000000000000000.json', 'second')).toBe(false);
      const uploads = requests.filter(isUpload);
      expect(uploads).toHaveLength(1);
      expect(uploads[0].url).toMatch(/[?&]ifGenerationMatch=0(&|$)/);
      expect(uploads[0].status).toBe(412);
      expect(requests).toHaveLength(1);
      expect(text.decode(await store.get('_delta_log/00000000000000000000.json'))).toBe('first');
    });

    it('a try whose answer was lost (the upload went through) is recognised on retry as its own: true, not a lost race', async () => {
      const { proxy, faults, requests } = await proxied((req) => req.url?.startsWith('/upload/') ?? false);
      const store = storeAt(proxy.endpoint, 'lake', folder());
      faults.push('reset-after');
      expect(await store.putIfAbsent('_delta_log/00000000000000000001.json', 'mine')).toBe(true);
      const uploads = requests.filter(isUpload);
      expect(uploads.map((r) => r.fault)).toEqual(['reset-after', 'pass']);
      expect(uploads[1].status).toBe(412);
      expect(text.decode(await store.get('_delta_log/00000000000000000001.json'))).toBe('mine');
    });

    it('after a lost answer, a name another writer took stays taken: false', async () => {
      const { proxy, faults } = await proxied((req) => req.url?.startsWith('/upload/') ?? false);
      const prefix = folder();
      const other = storeAt((await emulator()).endpoint, 'lake', prefix);
      const store = storeAt(proxy.endpoint, 'lake', prefix);
      expect(await other.putIfAbsent('k.json', 'theirs')).toBe(true);
      // The first try is dropped before it reaches the server, so the 412 of the retry is the other writer's.
      faults.push('reset-before');
      expect(await store.putIfAbsent('k.json', 'mine')).toBe(false);
      expect(text.decode(await store.get('k.json'))).toBe('theirs');
    });
  });

  describe('retries', () => {
    it('a 503 on upload is retried with backoff until it succeeds', async () => {
      const { proxy, faults, requests } = await proxied();
      const delays: number[] = [];
      const store = storeAt(proxy.endpoint, 'lake', folder(), {
        retry: { ...FAST_RETRY, attempts: 5, sleep: async (ms) => void delays.push(ms), random: () => 0.5 },
      });
      faults.push({ status: 503 }, { status: 503 }, { status: 429 });
      await store.put('a.parquet', 'payload');
      const uploads = requests.filter(isUpload);
      expect(uploads.map((r) => r.status)).toEqual([503, 503, 429, 200]);
      expect(delays).toHaveLength(3);
      expect(delays[1]).toBeGreaterThan(delays[0]);
      expect(delays[2]).toBeGreaterThan(delays[1]);
      expect(text.decode(await store.get('a.parquet'))).toBe('payload');
    });

    it('reads, heads, lists, copies and deletes are retried on 5xx and on a dropped connection', async () => {
      const { proxy, faults, requests } = await proxied();
      const store = storeAt(proxy.endpoint, 'lake', folder());
      await store.put('x.bin', 'xx');
      requests.length = 0;
      faults.push({ status: 500 });
      expect(text.decode(await store.get('x.bin'))).toBe('xx');
      faults.push('reset-before');
      expect((await store.head('x.bin'))?.size).toBe(2);
      faults.push({ status: 502 });
      expect((await store.list('')).map((m) => m.key)).toEqual(['x.bin']);
      faults.push({ status: 504 });
      await store.copy('x.bin', 'y.bin');
      faults.push('reset-after');
      await store.delete('x.bin');
      expect(await store.head('x.bin')).toBeUndefined();
      expect(text.decode(await store.get('y.bin'))).toBe('xx');
      // five failures injected, each followed by one successful retry of the same request
      const failed = requests.filter((r) => r.fault !== 'pass');
      expect(failed).toHaveLength(5);
      for (const f of failed) {
        const i = requests.indexOf(f);
        expect(requests[i + 1].method).toBe(f.method);
        expect(requests[i + 1].url).toBe(f.url);
      }
    });

    it('gives up after the policy\'s tries with a transient GcsError naming the object', async () => {
      const { proxy, faults, requests } = await proxied();
      const store = storeAt(proxy.endpoint, 'lake', 'tries');
      faults.push(...Array.from({ length: 10 }, () => ({ status: 503 })));
      const err = await store.put('z/w.json', '{}').then(() => undefined, (e: unknown) => e);
      faults.length = 0;
      expect(err).toBeInstanceOf(GcsError);
      expect(err).toMatchObject({ code: 'GCS', status: 503, transient: true, operation: 'write', target: 'gs://lake/tries/z/w.json' });
      expect((err as Error).message).toMatch(/^Cloud Storage write of gs:\/\/lake\/tries\/z\/w\.json failed with HTTP 503 .*already retried with backoff; run again later/);
      expect(requests.filter(isUpload)).toHaveLength(FAST_RETRY.attempts);
    });

    it('a 403 or 400 is final: one request, and the message says what to do', async () => {
      const { proxy, faults, requests } = await proxied();
      const store = storeAt(proxy.endpoint, 'lake', folder());
      faults.push({ status: 403 });
      const denied = await store.get('secret').then(() => undefined, (e: unknown) => e);
      expect(denied).toBeInstanceOf(GcsError);
      expect(denied).toMatchObject({ status: 403, transient: false });
      expect((denied as Error).message).toMatch(/Application Default Credentials.*gcloud auth application-default login.*bucket lake/);
      expect(requests).toHaveLength(1);
      faults.push({ status: 400 });
      await expect(store.put('p', 'x')).rejects.toMatchObject({ status: 400, transient: false });
      expect(requests).toHaveLength(2);
    });

    it('a missing bucket is a GcsError naming it, not an empty listing, and is not retried', async () => {
      const { proxy, requests } = await proxied();
      const store = storeAt(proxy.endpoint, 'no-such-bucket', 't');
      const err = await store.list('_delta_log/').then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(GcsError);
      expect((err as Error).message).toMatch(/gs:\/\/no-such-bucket\/t\/_delta_log\/ failed with HTTP 404.*bucket no-such-bucket does not exist/);
      expect(requests).toHaveLength(1);
    });

    it('nothing listening is a GcsError that points at STORAGE_EMULATOR_HOST', async () => {
      const dead = await startFaultProxy('http://127.0.0.1:9', () => 'pass');
      const endpoint = dead.endpoint;
      await dead.stop();
      const store = storeAt(endpoint, 'lake', 't');
      const err = await store.head('k').then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(GcsError);
      expect(err).toMatchObject({ netCode: 'ECONNREFUSED', transient: false });
      expect((err as Error).message).toContain(`nothing answers at ${endpoint}: check STORAGE_EMULATOR_HOST`);
    });
  });

  describe('list', () => {
    it('pages with prefix and startAt across several pages, each page retried on its own', async () => {
      const { proxy, faults, requests } = await proxied((req) => req.method === 'GET' && /\/o(\?|$)/.test(req.url ?? ''));
      const store = storeAt(proxy.endpoint, 'lake', folder(), { listPageSize: 3 });
      const pad = (v: number) => String(v).padStart(20, '0');
      for (let v = 0; v < 11; v++) await store.put(`_delta_log/${pad(v)}.json`, `{"v":${v}}`);
      await store.put('_delta_log/_last_checkpoint', '{}');
      await store.put('part-0.parquet', 'p');
      requests.length = 0;

      const keys = (await store.list('_delta_log/', { startAt: `_delta_log/${pad(4)}` })).map((m) => m.key);
      expect(keys).toEqual([...Array.from({ length: 7 }, (_, i) => `_delta_log/${pad(i + 4)}.json`), '_delta_log/_last_checkpoint']);
      const pages = requests.filter(isList);
      expect(pages).toHaveLength(3); // 8 objects, 3 a page
      for (const p of pages) {
        expect(p.url).toMatch(/[?&]maxResults=3(&|$)/);
        expect(p.url).toMatch(/[?&]startOffset=/);
      }

      // A failure on the second page asks for that page again (same token), not the listing from the start.
      requests.length = 0;
      let listCalls = 0;
      const failSecond = await startFaultProxy((await emulator()).endpoint, (req) =>
        isList({ method: req.method ?? '', url: req.url ?? '', fault: 'pass' }) && ++listCalls === 2 ? { status: 503 } : 'pass',
      );
      proxies.push(failSecond);
      const again = storeAt(failSecond.endpoint, 'lake', store.prefix, { listPageSize: 3 });
      expect((await again.list('_delta_log/', { startAt: `_delta_log/${pad(4)}` })).map((m) => m.key)).toEqual(keys);
      const seen = failSecond.requests.filter(isList);
      expect(seen.map((r) => r.status)).toEqual([200, 503, 200, 200]);
      expect(seen[2].url).toBe(seen[1].url);
      expect(seen[1].url).toMatch(/[?&]pageToken=/);
      expect(faults).toEqual([]);
    });

    it('reports size, modification time and generation; a re-upload gets a new generation', async () => {
      const store = storeAt((await emulator()).endpoint, 'lake', folder());
      await store.put('g.json', 'one');
      const first = await store.head('g.json');
      expect(first?.generation).toMatch(/^\d+$/);
      await store.put('g.json', 'two!');
      const second = await store.head('g.json');
      expect(second?.size).toBe(4);
      expect(second?.generation).toMatch(/^\d+$/);
      expect(second?.generation).not.toBe(first?.generation);
      expect((await store.list(''))[0]).toEqual(second);
    });
  });

  describe('copyFromIfAbsent (a big file archived inside GCS, never through lakelet)', () => {
    it('copies across buckets server-side (a rewrite, no download), reading the generation it was given; md5 in the listing; another kind of store: undefined', async () => {
      const g = await emulator();
      const bucket = `c-${randomUUID().slice(0, 18)}`;
      await g.createBucket(bucket);
      const { proxy, requests } = await proxied();
      const from = storeAt(proxy.endpoint, 'lake', folder());
      const to = storeAt(proxy.endpoint, bucket, 'archive');
      await from.put('big.bin', 'the big bytes');
      const seen = (await from.head('big.bin'))!;
      expect(seen.md5).toBe(createHash('md5').update('the big bytes').digest('hex'));
      requests.length = 0;
      expect(await to.copyFromIfAbsent(from, 'big.bin', 'x/big.bin', { ifGeneration: seen.generation })).toBe(true);
      expect(requests.some(isDownload)).toBe(false);
      const rewrite = requests.find((r) => r.method === 'POST' && /\/(rewriteTo|copyTo)\//.test(r.url))!;
      expect(rewrite.url).toMatch(/[?&]ifGenerationMatch=0(&|$)/);
      expect(rewrite.url).toMatch(new RegExp(`[?&]sourceGeneration=${seen.generation}(&|$)`));
      expect(text.decode(await to.get('x/big.bin'))).toBe('the big bytes');
      expect(await to.copyFromIfAbsent({ uri: 'file:///x' } as never, 'big.bin', 'y')).toBeUndefined();
    });

    it('a taken destination: GCS answers 412, which is false (nothing overwritten), not retried', async () => {
      const { proxy, faults, requests } = await proxied((req) => /\/(rewriteTo|copyTo)\//.test(req.url ?? ''));
      const from = storeAt(proxy.endpoint, 'lake', folder());
      await from.put('big.bin', 'bytes');
      // The 412 is injected: GCS sends it for ifGenerationMatch=0 on a taken name, fake-gcs-server does not (next test).
      faults.push({ status: 412 });
      requests.length = 0;
      expect(await from.copyFromIfAbsent(from, 'big.bin', 'copy.bin')).toBe(false);
      expect(requests.filter((r) => /\/(rewriteTo|copyTo)\//.test(r.url))).toHaveLength(1);
      expect(await from.head('copy.bin')).toBeUndefined();
    });

    it('emulator gap: fake-gcs-server v1.56.1 ignores ifGenerationMatch=0 on a copy and overwrites a taken name (real GCS answers 412)', async () => {
      // When this fails, the emulator enforces it: fold the 412 case above into a real one.
      const g = await emulator();
      const store = storeAt(g.endpoint, 'lake', folder());
      await store.put('a', 'one');
      await store.put('b', 'two');
      expect(await store.copyFromIfAbsent(store, 'a', 'b')).toBe(true);
      expect(text.decode(await store.get('b'))).toBe('one');
    });
  });

  describe('getRange', () => {
    it('is one ranged download of exactly the asked bytes (a Parquet footer read)', async () => {
      const { proxy, requests } = await proxied();
      const store = storeAt(proxy.endpoint, 'lake', folder());
      const bytes = new Uint8Array(1 << 20);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) % 253;
      await store.put('big.parquet', bytes);
      requests.length = 0;
      const footer = await store.getRange('big.parquet', bytes.length - 8, 8);
      expect(Buffer.from(footer).equals(Buffer.from(bytes.subarray(bytes.length - 8)))).toBe(true);
      const downloads = requests.filter(isDownload);
      expect(downloads).toHaveLength(1);
      expect(downloads[0].range).toBe(`bytes=${bytes.length - 8}-${bytes.length - 1}`);
      const middle = await store.getRange('big.parquet', 1000, 70_000);
      expect(Buffer.from(middle).equals(Buffer.from(bytes.subarray(1000, 71_000)))).toBe(true);
    });
  });

  describe('keys', () => {
    it('rejects keys GCS cannot name or that would alias another key', async () => {
      const store = storeAt((await emulator()).endpoint, 'lake', 'k');
      for (const key of ['', '/abs', 'a//b', 'a/../b', '.', 'line\nfeed', 'x'.repeat(1100)]) {
        await expect(store.put(key, 'x'), JSON.stringify(key)).rejects.toThrow(InvalidObjectKeyError);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// What this emulator build enforces, each probed with raw HTTP and named: a precondition the
// contract relies on fails loudly here when missing; a gap we know of is pinned, so that an
// emulator upgrade that closes it shows up as a failing test to turn into a real one.
// ---------------------------------------------------------------------------------------------
describe.skipIf(gcsMode === 'skip')('fake-gcs-server v1.56.1: which preconditions it enforces', () => {
  async function upload(endpoint: string, name: string, body: string, query = ''): Promise<Response> {
    return fetch(`${endpoint}/upload/storage/v1/b/lake/o?uploadType=media&name=${encodeURIComponent(name)}${query}`, { method: 'POST', body });
  }

  it('enforces ifGenerationMatch=0 on upload (412 when the name exists): the precondition putIfAbsent needs', async () => {
    const { endpoint } = await emulator();
    const name = `probe/${randomUUID()}`;
    expect((await upload(endpoint, name, 'a', '&ifGenerationMatch=0')).status).toBe(200);
    const second = await upload(endpoint, name, 'b', '&ifGenerationMatch=0');
    expect(second.status, 'this emulator build ignores ifGenerationMatch=0 on upload: putIfAbsent cannot be verified against it').toBe(412);
  });

  it('does NOT enforce ifGenerationMatch on delete (a wrong generation still deletes): a generation-guarded delete cannot be tested against this emulator', async () => {
    const { endpoint } = await emulator();
    const name = `probe/${randomUUID()}`;
    const meta = (await (await upload(endpoint, name, 'a')).json()) as { generation: string };
    const wrong = String(BigInt(meta.generation) + 1n);
    const res = await fetch(`${endpoint}/storage/v1/b/lake/o/${encodeURIComponent(name)}?ifGenerationMatch=${wrong}`, { method: 'DELETE' });
    // Real GCS answers 412 and keeps the object. If this starts failing, the emulator enforces it now:
    // replace this pin with a real test of the guarded delete.
    expect(res.status).toBeLessThan(300);
    expect((await fetch(`${endpoint}/storage/v1/b/lake/o/${encodeURIComponent(name)}`)).status).toBe(404);
  });

  it('does NOT enforce ifGenerationMatch=0 on copy/rewrite to an existing name (it overwrites): a create-only copy cannot be tested against this emulator', async () => {
    const { endpoint } = await emulator();
    const src = `probe/${randomUUID()}`;
    const dst = `probe/${randomUUID()}`;
    await upload(endpoint, src, 'source');
    await upload(endpoint, dst, 'already there');
    const res = await fetch(`${endpoint}/storage/v1/b/lake/o/${encodeURIComponent(src)}/rewriteTo/b/lake/o/${encodeURIComponent(dst)}?ifGenerationMatch=0`, { method: 'POST' });
    // Real GCS answers 412. If this starts failing, the emulator enforces it now: test the archive's create-only copy for real.
    expect(res.status).toBe(200);
    expect(await (await fetch(`${endpoint}/storage/v1/b/lake/o/${encodeURIComponent(dst)}?alt=media`)).text()).toBe('source');
  });
});

describe('openStore with gs:// locations', () => {
  it('an unknown scheme or a location that names no bucket is a clear InputError', () => {
    expect(() => openStore('s3://bucket/t')).toThrow(InputError);
    expect(() => openStore('s3://bucket/t')).toThrow("s3://bucket/t: the storage scheme 's3' is not supported; use a local path, file:// or gs://.");
    expect(() => openStore('gs://')).toThrow(/'' is not a valid bucket name .*gs:\/\/<bucket>\/<folder>/);
    expect(() => openStore('gs://My_Bucket/t')).toThrow(/'My_Bucket' is not a valid bucket name/);
    expect(() => openStore('gs://bucket/a/../b')).toThrow(InputError);
  });

  it('parses bucket and folder; the store uri is the location without trailing slashes', () => {
    expect(parseGsUri('gs://lake/warehouse/orders/')).toEqual({ bucket: 'lake', prefix: 'warehouse/orders' });
    expect(parseGsUri('gs://lake')).toEqual({ bucket: 'lake', prefix: '' });
    expect(openStore('gs://lake/warehouse/orders/').uri).toBe('gs://lake/warehouse/orders');
    expect(openStore('gs://lake').localPath('k')).toBeUndefined();
  });

  it('STORAGE_EMULATOR_HOST, with or without a scheme, becomes the client\'s apiEndpoint', () => {
    expect(emulatorEndpoint({ STORAGE_EMULATOR_HOST: '127.0.0.1:4443' })).toBe('http://127.0.0.1:4443');
    expect(emulatorEndpoint({ STORAGE_EMULATOR_HOST: 'http://localhost:9023/' })).toBe('http://localhost:9023');
    expect(emulatorEndpoint({ STORAGE_EMULATOR_HOST: 'http://localhost:9023/storage/v1/' })).toBe('http://localhost:9023');
    expect(emulatorEndpoint({ STORAGE_EMULATOR_HOST: '' })).toBeUndefined();
    expect(emulatorEndpoint({})).toBeUndefined();
  });

  it.skipIf(gcsMode === 'skip')('opens the emulator from STORAGE_EMULATOR_HOST without credentials, and leaves the variable as it was', async () => {
    const g = await emulator();
    const saved = { host: process.env.STORAGE_EMULATOR_HOST, creds: process.env.GOOGLE_APPLICATION_CREDENTIALS };
    const hostPort = g.endpoint.replace('http://', '');
    process.env.STORAGE_EMULATOR_HOST = hostPort;
    // Any attempt to authenticate would fail on this file.
    process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent/lakelet-test-credentials.json';
    try {
      const store = openStore(`gs://lake/${folder()}`);
      expect(store).toBeInstanceOf(GcsObjectStore);
      expect(process.env.STORAGE_EMULATOR_HOST).toBe(hostPort);
      expect(await store.putIfAbsent('hello.txt', 'hi')).toBe(true);
      expect(text.decode(await store.get('hello.txt'))).toBe('hi');
    } finally {
      for (const [k, v] of [['STORAGE_EMULATOR_HOST', saved.host], ['GOOGLE_APPLICATION_CREDENTIALS', saved.creds]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
