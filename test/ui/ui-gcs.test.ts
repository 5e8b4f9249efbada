// lakelet ui over a config whose tables live on gs:// (fake-gcs-server): the same API through the
// same ObjectStore, served by the real CLI (STORAGE_EMULATOR_HOST in its environment).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGcsClient } from '../../src/adapters/storage/gcs/gcs-client.ts';
import { GcsObjectStore } from '../../src/adapters/storage/gcs/gcs-object-store.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import { startLakelet } from '../support/cli.ts';
import type { LiveProcess } from '../support/process.ts';
import { fakeGcsAvailable, useFakeGcs } from '../support/gcs-emulator.ts';
import { requirePeer } from '../support/peers.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';
import { tempDir } from '../support/temp.ts';

const mode = requirePeer('fake-gcs-server', fakeGcsAvailable);
const fake = useFakeGcs('lake');

describe.skipIf(mode === 'skip')('lakelet ui on gs:// tables', () => {
  const tmp = tempDir('lakelet-ui-gcs-');
  let ui: LiveProcess;
  let url: string;
  const target = 'gs://lake/ui/target';

  beforeAll(async () => {
    const env = { STORAGE_EMULATOR_HOST: fake.gcs.endpoint };
    // Two versions written in-process (the CLI on gs:// has its own tests): v1 replaces v0's rows.
    const client = createGcsClient(env);
    const store = new GcsObjectStore({ storage: client.storage, endpoint: client.endpoint, bucket: 'lake', prefix: 'ui/target' });
    const table = await DeltaTable.forPath(target, { store });
    try {
      await table.write({ sql: "SELECT * FROM (VALUES (1, 'ann'), (2, 'bob')) v(id, name)" }).execute();
      await table.write({ sql: "SELECT * FROM (VALUES (1, 'ann'), (2, 'Bob v2'), (3, 'cy')) v(id, name)" }).mode('overwrite').execute();
    } finally {
      table.close();
    }
    writeFileSync(join(tmp.dir, 'lakelet.yml'), pipelineYaml({ stage: 'gs://lake/ui/stage', target }, { name: 'p' }));
    ui = startLakelet(['ui', '-c', join(tmp.dir, 'lakelet.yml')], { env });
    for (;;) {
      const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(ui.stdout());
      if (m) {
        url = m[1];
        break;
      }
      if (ui.child.exitCode !== null) throw new Error(`lakelet ui exited: ${ui.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    if (ui && ui.child.exitCode === null) {
      ui.child.kill('SIGINT');
      await ui.exited;
    }
    tmp.cleanup();
  });

  const get = async (path: string) => {
    const res = await fetch(url + path);
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body;
  };

  it('lists, describes, pages as of a version and charts the history of a gs:// table', async () => {
    const tables = await get('api/tables');
    expect(tables.map((t: any) => [t.id, t.exists, t.version ?? null])).toEqual([
      ['p.stage', false, null],
      ['p.target', true, 1],
      ['ingestion_log', false, null],
    ]);
    expect((await get('api/tables/p.target')).uri).toBe(target);
    const name = (page: any) => page.rows.map((r: unknown[]) => `${r[0]}:${r[1]}`);
    expect(name(await get('api/tables/p.target/rows'))).toEqual(['1:ann', '2:Bob v2', '3:cy']);
    expect(name(await get('api/tables/p.target/rows?version=0'))).toEqual(['1:ann', '2:bob']);
    const h = await get('api/tables/p.target/history');
    expect(h.versions.map((v: any) => v.version)).toEqual([1, 0]);
    expect(h.sizes.map((s: any) => s.version)).toEqual([0, 1]);
    expect(h.sizes.every((s: any) => s.bytes > 0)).toBe(true);
  });
});
