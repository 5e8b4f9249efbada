import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/adapters/clock.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import { loadConfig } from '../../src/pipeline/config.ts';
import { silentReporter } from '../../src/pipeline/reporter.ts';
import { syncSources, type SyncOptions } from '../../src/pipeline/sync/sync-runner.ts';
import { openWarehouse } from '../../src/warehouse/open-warehouse.ts';
import { postgresAvailable, usePostgres } from '../support/db-servers.ts';
import { useEngine } from '../support/engine-fixture.ts';
import { requirePeer } from '../support/peers.ts';

/** `lakelet sync` from a real PostgreSQL (started for this file, server TimeZone Europe/Berlin). */
const mode = requirePeer('postgres', postgresAvailable);
const db = usePostgres();
const engine = useEngine('lakelet-sync-pg-');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function workspace(source: string): { dir: string; yml: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lakelet-sync-pg-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'lakelet.yml'), `sources:\n${source}`);
  return { dir, yml: join(dir, 'lakelet.yml') };
}

async function sync(yml: string, options: SyncOptions = {}) {
  const warehouse = openWarehouse('delta', { compute: engine.compute });
  return syncSources(loadConfig(yml), { warehouse, compute: engine.compute, clock: systemClock, reporter: silentReporter }, options);
}

async function read(path: string, sql?: string): Promise<Record<string, unknown>[]> {
  const t = await DeltaTable.forPath(path, { compute: engine.compute });
  try {
    return await t.read({ orderBy: sql ?? 'id' });
  } finally {
    t.close();
  }
}

describe.skipIf(mode === 'skip')('lakelet sync from PostgreSQL', () => {
  it('maps types (numeric, timestamptz vs timestamp, jsonb, bytea, uuid, boolean) and syncs incrementally', async () => {
    await db.server.admin(
      `CREATE TABLE items (id bigint PRIMARY KEY, price numeric(12,3), anynum numeric, ok boolean, doc jsonb, raw bytea, ref uuid, local_ts timestamp(3), updated_at timestamptz NOT NULL);
       INSERT INTO items VALUES (1, 12.345, 1.000000000000000000001, true, '{"k": [1]}', '\\x00ff', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-03-31 02:30:00.5', '2024-06-01 12:00:00+02'),
                                (2, NULL, NULL, false, NULL, NULL, NULL, NULL, '2024-06-01 12:00:00+02')`,
    );
    const w = workspace(`  pg:\n    url: ${db.server.url()}\n    passwordEnv: PG_PW\n    tables: [items]\n    target: ./lake\n    lookback: 0s\n`);
    process.env.PG_PW = 'admin-pw';
    const first = await sync(w.yml);
    expect(first.failed).toEqual([]);
    expect(first.synced[0]).toMatchObject({ rowsRead: 2, inserted: 2, watermark: { value: '2024-06-01 10:00:00+00', key: ['2'] } });
    const [a, b] = await read(join(w.dir, 'lake', 'items'));
    expect(a).toMatchObject({ id: '1', price: '12.345', anynum: '1.000000000000000000001', ok: true, doc: '{"k": [1]}', ref: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' });
    expect(String(a.local_ts)).toMatch(/^2024-03-31[ T]02:30:00\.5/);
    expect(String(a.updated_at)).toMatch(/^2024-06-01[ T]10:00:00(\.0+)?(Z|\+00(:00)?)$/);
    expect(b).toMatchObject({ id: '2', price: null, ok: false, raw: null });
    // The watermark is in the MERGE's own commit (domainMetadata beside the data and the batch txn).
    const log = join(w.dir, 'lake', 'items', '_delta_log');
    const merge = readdirSync(log).filter((f) => f.endsWith('.json')).map((f) => readFileSync(join(log, f), 'utf8')).find((c) => c.includes('"operation":"MERGE"'))!;
    const actions = merge.trim().split('\n').map((l) => JSON.parse(l));
    expect(actions.find((a) => a.domainMetadata)?.domainMetadata).toMatchObject({ domain: 'lakelet.state.sync', removed: false });
    expect(JSON.parse(actions.find((a) => a.domainMetadata).domainMetadata.configuration)).toMatchObject({ seq: 1, watermark: { value: '2024-06-01 10:00:00+00', key: ['2'] } });
    expect(actions.some((a) => a.add) && actions.some((a) => a.txn?.version === 1)).toBe(true);

    // lookback 0: strictly after (watermark, key); an update and an insert at the same instant.
    await db.server.admin(`UPDATE items SET price = 1, updated_at = '2024-06-02 00:00:00+00' WHERE id = 2; INSERT INTO items (id, ok, updated_at) VALUES (3, true, '2024-06-02 00:00:00+00')`);
    const second = await sync(w.yml);
    expect(second.synced[0]).toMatchObject({ rowsRead: 2, inserted: 1, updated: 1, seq: 2 });
    expect((await read(join(w.dir, 'lake', 'items'))).map((r) => [r.id, r.price])).toEqual([['1', '12.345'], ['2', '1.000'], ['3', null]]);
  });

  it('streams a first sync in pages and bounded Parquet files (20k rows, pages of 1000, files of 5000 rows)', async () => {
    await db.server.admin(`CREATE TABLE big (id int PRIMARY KEY, v text, updated_at timestamp NOT NULL);
      INSERT INTO big SELECT g, md5(g::text), timestamp '2024-01-01' + (g / 7) * interval '1 second' FROM generate_series(1, 20000) g`);
    const w = workspace(`  pg:\n    url: ${db.server.url()}\n    passwordEnv: PG_PW\n    tables: [big]\n    target: ./lake\n    pageSize: 1000\n    rowsPerFile: 5000\n`);
    const r = await sync(w.yml);
    expect(r.failed).toEqual([]);
    // 20 full pages and the empty one that ends the table; each Parquet file holds at most 5000 rows.
    expect(r.synced[0]).toMatchObject({ rowsRead: 20000, pages: 21, files: 4, inserted: 20000 });
    const rows = await read(join(w.dir, 'lake', 'big'));
    expect(rows.length).toBe(20000);
    expect(new Set(rows.map((x) => x.id)).size).toBe(20000);
  });

  it('a wrong password is one line naming the source; an unreachable one too; a listed table that is missing is reported', async () => {
    const w = workspace(
      `  bad:\n    url: ${db.server.url()}\n    passwordEnv: BAD_PW\n    target: ./lake\n` +
        `  gone:\n    url: postgres://x@127.0.0.1:1/db\n    passwordEnv: BAD_PW\n    target: ./lake2\n    connectTimeout: 2s\n` +
        `  ok:\n    url: ${db.server.url()}\n    passwordEnv: PG_PW\n    tables: [nope]\n    target: ./lake3\n`,
    );
    process.env.BAD_PW = 'wrong';
    const r = await sync(w.yml);
    expect(r.failed).toEqual([
      { source: 'bad', error: expect.stringMatching(/^source 'bad': cannot connect: access denied \(password authentication failed for user "admin"\)$/) },
      { source: 'gone', error: "source 'gone': cannot connect: nothing listens at 127.0.0.1:1" },
      { source: 'ok', table: 'nope', error: expect.stringMatching(/^table nope is listed in tables: but the source has no such base table/) },
    ]);
  });
});
