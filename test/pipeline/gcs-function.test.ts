// The Cloud Function entry end to end: the Functions Framework's own server (a child process)
// loads the function module; real CloudEvent payloads, structured and binary mode, are POSTed to it
// while the objects sit in fake-gcs-server (reached through a fault proxy, to make the store fail on
// demand). One server and one lakelet.yml for the file, one pipeline (and bucket folder) per test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcsClient } from '../../src/adapters/storage/gcs/gcs-client.ts';
import { GcsObjectStore } from '../../src/adapters/storage/gcs/gcs-object-store.ts';
import { FINALIZED_EVENT_TYPE } from '../../src/adapters/trigger/cloud-function/finalized-object.ts';
import { FUNCTION_TARGET } from '../../src/function/target.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { startFunctionServer, type FunctionServer } from '../support/function-server.ts';
import { fakeGcsAvailable, useFakeGcs } from '../support/gcs-emulator.ts';
import { requirePeer } from '../support/peers.ts';
import { lakeletYaml, PIPELINE_DEFAULTS } from '../support/pipeline-yaml.ts';
import { Workspace } from '../support/workspace.ts';
import { expected, HEADER, incremental, initial } from './accounts-fixture.ts';

const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);
const fake = useFakeGcs('lake');

/** `<yyyy>/<mm>/<dd>/<stamp>-<id>/<name>`: a batch's dated folder (file-mover.ts batchFolder). */
const DATED = /^\d{4}\/\d{2}\/\d{2}\/\d{8}T\d{9}Z-[^/]+\/[^/]+$/;
const PIPELINES = ['structured', 'binary', 'bad', 'flaky', 'marked', 'overwritten', 'crashed'] as const;

/** The accounts pipeline (accounts-fixture.ts) with landing, archive and quarantine in the bucket folder named after it. */
const accounts = (name: string) => ({
  ...PIPELINE_DEFAULTS,
  pattern: '*.csv',
  key: 'account_number',
  orderBy: 'last_modified',
  deletes: { column: 'op', values: ['D'] },
  landing: `gs://lake/${name}/landing`,
  archive: `gs://lake/${name}/archive`,
  quarantine: `gs://lake/${name}/quarantine`,
  stage: `./tables/${name}-stage`,
  target: `./tables/${name}`,
});

describe.skipIf(gcsMode === 'skip')('Cloud Function entry: finalize CloudEvents posted to the Functions Framework', () => {
  let ws: Workspace;
  let server: FunctionServer;
  let proxy: FaultProxy;
  /** While true, the proxy answers every Cloud Storage request of the function with 503. */
  let outage = false;
  const bucket = () => {
    const client = createGcsClient({ STORAGE_EMULATOR_HOST: fake.gcs.endpoint });
    return new GcsObjectStore({ storage: client.storage, endpoint: client.endpoint, bucket: 'lake', prefix: '' });
  };

  beforeAll(async () => {
    const pipelines: Record<string, Record<string, unknown>> = Object.fromEntries(PIPELINES.map((p) => [p, accounts(p)]));
    pipelines.marked = { ...pipelines.marked, arrival: { marker: 'done' } };
    ws = new Workspace(lakeletYaml(pipelines, { stateDir: './state' }));
    proxy = await startFaultProxy(fake.gcs.endpoint, () => (outage ? { status: 503 } : 'pass'));
    server = await startFunctionServer(FUNCTION_TARGET, { cwd: ws.dir, env: { STORAGE_EMULATOR_HOST: proxy.endpoint, LAKELET_CONFIG: 'lakelet.yml' } });
  });
  afterAll(async () => {
    if (process.env.LAKELET_DUMP_FUNCTION_LOG) console.log(server?.process.stdout(), server?.process.stderr());
    await server?.stop();
    await proxy?.stop();
    ws?.cleanup();
  });

  /** Uploads an object; returns the StorageObjectData a finalize event carries for it. */
  async function upload(name: string, content: string): Promise<Record<string, unknown>> {
    const store = bucket();
    await store.put(name, content);
    const meta = (await store.head(name))!;
    const at = new Date(meta.lastModified).toISOString();
    return {
      kind: 'storage#object',
      id: `lake/${name}/${meta.generation}`,
      selfLink: `http://127.0.0.1/storage/v1/b/lake/o/${encodeURIComponent(name)}`,
      name,
      bucket: 'lake',
      generation: meta.generation,
      metageneration: '1',
      contentType: 'text/csv',
      timeCreated: at,
      updated: at,
      storageClass: 'STANDARD',
      size: String(meta.size),
      md5Hash: 'AAAAAAAAAAAAAAAAAAAAAA==',
      crc32c: 'AAAAAA==',
      etag: 'CAE=',
    };
  }

  let ids = 0;
  const eventId = () => `event-${++ids}`;
  const source = '//storage.googleapis.com/projects/_/buckets/lake';

  /** Structured mode: the whole event as application/cloudevents+json. */
  function postStructured(id: string, data: Record<string, unknown>): Promise<Response> {
    const event = { specversion: '1.0', id, type: FINALIZED_EVENT_TYPE, source, subject: `objects/${data.name}`, time: data.updated, datacontenttype: 'application/json', data };
    return fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(event) });
  }

  /** Binary mode: the attributes as ce-* headers, the StorageObjectData as the body (how Eventarc delivers it). */
  function postBinary(id: string, data: Record<string, unknown>): Promise<Response> {
    return fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-id': id,
        'ce-type': FINALIZED_EVENT_TYPE,
        'ce-source': source,
        'ce-specversion': '1.0',
        'ce-subject': `objects/${data.name}`,
        'ce-time': String(data.updated),
      },
      body: JSON.stringify(data),
    });
  }

  const names = async (prefix: string) => (await bucket().list(prefix)).map((m) => m.key.slice(prefix.length));
  const logOf = async (pipeline: string) => (await ws.log(pipeline)).map((r) => [r.batch, r.file_name, r.status, r.records]);
  const commits = (table: string) => ws.files(`tables/${table}/_delta_log`).filter((f) => f.endsWith('.json'));
  /** The operations of a table's commits, oldest first (commitInfo.operation). */
  const operations = (table: string) =>
    commits(table).map((f) => {
      const lines = readFileSync(join(ws.dir, 'tables', table, '_delta_log', f), 'utf8').trim().split('\n');
      return lines.map((l) => JSON.parse(l) as { commitInfo?: { operation?: string } }).find((a) => a.commitInfo)?.commitInfo?.operation;
    });
  /** The function's log lines (Cloud Logging's structured JSON on stdout). */
  const logLines = () =>
    server.process
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { severity: string; message: string; eventId?: string; outcome?: string });

  it('structured mode: the object is merged, archived under the dated prefix and logged; redeliveries (either mode) are acknowledged and applied once', async () => {
    const data = await upload('structured/landing/initial.csv', initial);
    const id = eventId();
    const first = await postStructured(id, data);
    expect(first.status, await first.clone().text()).toBe(204);
    expect(await ws.rows('tables/structured', 'account_number')).toHaveLength(4);
    expect((await ws.rows('tables/structured', 'account_number')).map((r) => r.account_number)).toEqual(['A1', 'A2', 'A3', 'A4']);
    expect(await names('structured/landing/')).toEqual([]);
    const archived = await names('structured/archive/');
    expect(archived).toHaveLength(1);
    expect(archived[0]).toMatch(DATED);
    expect(archived[0].endsWith('/initial.csv')).toBe(true);
    expect(await logOf('structured')).toEqual([['1', 'initial.csv', 'merged', '4']]);
    const targetCommits = commits('structured');
    const stageCommits = commits('structured-stage');

    // The platform delivers the same event again (at-least-once), in either mode.
    for (const again of [postStructured, postBinary]) {
      const res = await again(id, data);
      expect(res.status, await res.clone().text()).toBe(204);
    }
    expect(await logOf('structured')).toEqual([['1', 'initial.csv', 'merged', '4']]);
    expect(commits('structured')).toEqual(targetCommits);
    expect(commits('structured-stage')).toEqual(stageCommits);
    expect(await names('structured/archive/')).toEqual(archived);
    const lines = logLines().filter((l) => l.eventId === id);
    expect(lines.filter((l) => l.outcome === 'ran')).toHaveLength(1);
    expect(lines.filter((l) => l.outcome === 'gone')).toHaveLength(2);
    for (const l of lines) expect(['DEBUG', 'INFO', 'WARNING', 'ERROR']).toContain(l.severity);
  });

  it('binary mode: each object of an initial load and an incremental file is upserted in turn', async () => {
    for (const [name, content] of [['initial.csv', initial], ['incremental.csv', incremental]] as const) {
      const res = await postBinary(eventId(), await upload(`binary/landing/${name}`, content));
      expect(res.status, await res.clone().text()).toBe(204);
    }
    expect(await ws.rows('tables/binary', 'account_number')).toEqual(expected);
    expect(await logOf('binary')).toEqual([
      ['1', 'initial.csv', 'merged', '4'],
      ['2', 'incremental.csv', 'merged', '4'],
    ]);
    expect((await names('binary/archive/')).map((k) => k.split('/').pop()).sort()).toEqual(['incremental.csv', 'initial.csv']);
  });

  it('an object no pipeline claims, and a temporary name in a landing: acknowledged, nothing done', async () => {
    const unclaimed = eventId();
    let res = await postBinary(unclaimed, await upload('elsewhere/orders.csv', initial));
    expect(res.status).toBe(204);
    const temporary = eventId();
    res = await postStructured(temporary, await upload('bad/landing/upload.csv.tmp', initial));
    expect(res.status).toBe(204);
    expect(await names('elsewhere/')).toEqual(['orders.csv']);
    expect(await names('bad/landing/')).toEqual(['upload.csv.tmp']);
    expect(await logOf('bad')).toEqual([]);
    expect(ws.files('tables/bad')).toEqual([]);
    expect(logLines().find((l) => l.eventId === unclaimed)?.message).toMatch(/no pipeline .* has a landing holding this object .*acknowledged, nothing done/);
    expect(logLines().find((l) => l.eventId === temporary)?.message).toMatch(/not a data file of pipeline bad/);
    await bucket().delete('bad/landing/upload.csv.tmp');
  });

  it('bad input is quarantined with its .error.json and acknowledged; so is a cut-off last record (a finalized object never grows)', async () => {
    let res = await postBinary(eventId(), await upload('bad/landing/broken.csv', `${HEADER}\nC9,A9,1,1\n`));
    expect(res.status, await res.clone().text()).toBe(204);
    res = await postStructured(eventId(), await upload('bad/landing/cut.csv', initial.slice(0, -1)));
    expect(res.status, await res.clone().text()).toBe(204);
    expect(await names('bad/landing/')).toEqual([]);
    const quarantined = await names('bad/quarantine/');
    expect(quarantined.map((k) => k.split('/').pop()).sort()).toEqual(['broken.csv', 'broken.csv.error.json', 'cut.csv', 'cut.csv.error.json']);
    const cutError = JSON.parse(new TextDecoder().decode(await bucket().get(`bad/quarantine/${quarantined.find((k) => k.endsWith('cut.csv.error.json'))}`)));
    expect(JSON.stringify(cutError)).toMatch(/finalized/);
    expect(await logOf('bad')).toEqual([
      ['1', 'broken.csv', 'quarantined', '0'],
      ['2', 'cut.csv', 'quarantined', '0'],
    ]);
    expect(await ws.rows('tables/bad', 'account_number')).toEqual([]);
  });

  it('with arrival.marker: done, the data file waits for its marker; the marker\'s own event runs it, and both are archived', async () => {
    let res = await postBinary(eventId(), await upload('marked/landing/initial.csv', initial));
    expect(res.status, await res.clone().text()).toBe(204);
    expect(await names('marked/landing/')).toEqual(['initial.csv']);
    expect(await logOf('marked')).toEqual([]);
    res = await postBinary(eventId(), await upload('marked/landing/initial.csv.done', ''));
    expect(res.status, await res.clone().text()).toBe(204);
    expect(await names('marked/landing/')).toEqual([]);
    expect((await names('marked/archive/')).map((k) => k.split('/').pop()).sort()).toEqual(['initial.csv', 'initial.csv.done']);
    expect(await logOf('marked')).toEqual([['1', 'initial.csv', 'merged', '4']]);
  });

  it('an event for a generation overwritten since is acknowledged without running; the new generation\'s event loads it', async () => {
    const old = await upload('overwritten/landing/initial.csv', incremental);
    const current = await upload('overwritten/landing/initial.csv', initial);
    expect(current.generation).not.toBe(old.generation);
    const stale = eventId();
    let res = await postStructured(stale, old);
    expect(res.status, await res.clone().text()).toBe(204);
    expect(await names('overwritten/landing/')).toEqual(['initial.csv']);
    expect(logLines().find((l) => l.eventId === stale)?.outcome).toBe('superseded');
    res = await postStructured(eventId(), current);
    expect(res.status, await res.clone().text()).toBe(204);
    expect(await logOf('overwritten')).toEqual([['1', 'initial.csv', 'merged', '4']]);
    expect((await ws.rows('tables/overwritten', 'account_number')).map((r) => r.credit_score)).toEqual(['700', '650', '600', '610']);
  });

  it('a failing store answers with an error so that the platform retries; the redelivery is applied once', async () => {
    const data = await upload('flaky/landing/initial.csv', initial);
    const id = eventId();
    outage = true;
    let res: Response;
    try {
      res = await postBinary(id, data);
    } finally {
      outage = false;
    }
    expect(res.status).toBe(500);
    expect(await names('flaky/landing/')).toEqual(['initial.csv']);
    expect(logLines().find((l) => l.eventId === id && l.severity === 'WARNING')?.message).toMatch(/503.*transient failure: answered with an error so that the platform delivers the event again/);
    res = await postBinary(id, data);
    expect(res.status, await res.clone().text()).toBe(204);
    res = await postBinary(id, data);
    expect(res.status).toBe(204);
    expect(await logOf('flaky')).toEqual([['1', 'initial.csv', 'merged', '4']]);
    expect((await ws.rows('tables/flaky', 'account_number')).map((r) => r.account_number)).toEqual(['A1', 'A2', 'A3', 'A4']);
    expect(await names('flaky/landing/')).toEqual([]);
  });

  it('a delivery killed after archiving the object (before the MERGE): the redelivery finds it gone, finishes that batch, and applies it once', async () => {
    const data = await upload('crashed/landing/initial.csv', initial);
    const id = eventId();
    const crashing = await startFunctionServer(FUNCTION_TARGET, { cwd: ws.dir, env: { STORAGE_EMULATOR_HOST: proxy.endpoint, LAKELET_CONFIG: 'lakelet.yml', LAKELET_CRASH_AT: 'after-archive' } });
    try {
      const lost = await fetch(crashing.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'ce-id': id, 'ce-type': FINALIZED_EVENT_TYPE, 'ce-source': source, 'ce-specversion': '1.0', 'ce-subject': `objects/${data.name}` },
        body: JSON.stringify(data),
      }).then(
        (r) => r.status,
        (err: Error) => err.name,
      );
      expect(lost).toBe('TypeError'); // the connection dropped: the platform never got an answer
      expect((await crashing.process.exited).signal).toBe('SIGKILL');
    } finally {
      await crashing.stop();
    }
    expect(await names('crashed/landing/')).toEqual([]);
    expect(await logOf('crashed')).toEqual([]);
    expect(await ws.rows('tables/crashed', 'account_number')).toEqual([]);

    const res = await postBinary(id, data);
    expect(res.status, await res.clone().text()).toBe(204);
    expect(logLines().filter((l) => l.eventId === id && l.outcome).map((l) => [l.outcome, l.message])).toEqual([['gone', expect.stringMatching(/finished what that delivery left: 1 file: 1 staged, 1 merged.*1 unfinished batch finished first/)]]);
    expect(await logOf('crashed')).toEqual([['1', 'initial.csv', 'merged', '4']]);
    expect((await ws.rows('tables/crashed', 'account_number')).map((r) => r.account_number)).toEqual(['A1', 'A2', 'A3', 'A4']);
    expect((await names('crashed/archive/')).map((k) => k.split('/').pop())).toEqual(['initial.csv']);
    // One stage append and one MERGE: nothing committed twice across the two deliveries.
    expect(operations('crashed-stage')).toEqual(['CREATE TABLE AS SELECT']);
    expect(operations('crashed')).toEqual(['CREATE TABLE AS SELECT', 'MERGE']);
  });
});
