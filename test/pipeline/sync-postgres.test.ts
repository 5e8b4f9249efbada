import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/adapters/clock.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import { loadConfig } from '../../src/pipeline/config.ts';
import { silentReporter } from '../../src/pipeline/reporter.ts';
import { syncSources, type SyncOptions } from '../../src/pipeline/sync/sync-runner.ts';
import { sourceStatus } from '../../src/pipeline/sync/sync-status.ts';
import { openWarehouse } from '../../src/warehouse/open-warehouse.ts';
import { startLakelet } from '../support/cli.ts';
import { postgresAvailable, usePostgres } from '../support/db-servers.ts';
import { useEngine } from '../support/engine-fixture.ts';
import { requirePeer } from '../support/peers.ts';

/** The embedded warehouse (its settings name no file: Delta table paths are given whole here). */
const DELTA = { warehouse: 'delta', file: '' } as const;

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
  const warehouse = openWarehouse(DELTA, { compute: engine.compute });
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

  it('rows whose watermark is NULL are read by key on every run (in pages), so none is lost; one that gets a watermark goes on incrementally', async () => {
    await db.server.admin(
      `CREATE TABLE nullwm (id bigint PRIMARY KEY, v text, updated_at timestamptz);
       INSERT INTO nullwm VALUES (1, 'a', '2024-06-01 00:00:00+00'), (2, 'b', NULL), (3, 'c', NULL), (4, 'd', NULL), (5, 'e', '2024-06-01 00:00:01+00')`,
    );
    // Pages of 2: the NULL rows take two pages of their own.
    const w = workspace(`  pg:\n    url: ${db.server.url()}\n    passwordEnv: PG_PW\n    tables: [nullwm]\n    target: ./lake\n    lookback: 0s\n    pageSize: 2\n`);
    process.env.PG_PW = 'admin-pw';
    const rows = async () => (await read(join(w.dir, 'lake', 'nullwm'))).map((r) => `${r.id}:${r.v}`);
    const first = await sync(w.yml);
    expect(first.failed).toEqual([]);
    expect(first.synced[0]).toMatchObject({ rowsRead: 5, inserted: 5, watermark: { value: '2024-06-01 00:00:01+00', key: ['5'] } });
    expect(await rows()).toEqual(['1:a', '2:b', '3:c', '4:d', '5:e']);
    // A NULL-watermark row changes (still NULL), another gets a watermark, a new one arrives without.
    await db.server.admin(`UPDATE nullwm SET v = 'b2' WHERE id = 2; UPDATE nullwm SET v = 'c2', updated_at = '2024-06-02 00:00:00+00' WHERE id = 3; INSERT INTO nullwm VALUES (6, 'f', NULL)`);
    const second = await sync(w.yml);
    expect(second.synced[0]).toMatchObject({ inserted: 1, updated: 2, watermark: { value: '2024-06-02 00:00:00+00', key: ['3'] } });
    expect(await rows()).toEqual(['1:a', '2:b2', '3:c2', '4:d', '5:e', '6:f']);
    // Nothing changed: the NULL rows are read again and the MERGE leaves them alone.
    const third = await sync(w.yml);
    expect(third.synced[0]).toMatchObject({ mode: 'incremental', rowsRead: 3, inserted: 0, updated: 0 });
    // --full reads every row, and the summary says the run was full.
    const full = await sync(w.yml, { full: true });
    expect(full.synced[0]).toMatchObject({ mode: 'full', rowsRead: 6, inserted: 0, updated: 0 });
  });

  it("PostgreSQL's infinity and -infinity dates and timestamps land as NULL (other Delta readers cannot read the extreme values)", async () => {
    await db.server.admin(
      `CREATE TABLE inf (id bigint PRIMARY KEY, d date, ts timestamp, tz timestamptz, updated_at timestamptz NOT NULL);
       INSERT INTO inf VALUES (1, 'infinity', '-infinity', 'infinity', '2024-06-01 00:00:00+00'), (2, '2024-01-02', '2024-01-02 03:04:05', '2024-01-02 03:04:05+00', '2024-06-01 00:00:01+00')`,
    );
    const w = workspace(`  pg:\n    url: ${db.server.url()}\n    passwordEnv: PG_PW\n    tables: [inf]\n    target: ./lake\n`);
    process.env.PG_PW = 'admin-pw';
    expect((await sync(w.yml)).failed).toEqual([]);
    const [a, b] = await read(join(w.dir, 'lake', 'inf'));
    expect([a.d, a.ts, a.tz]).toEqual([null, null, null]);
    expect(String(b.d)).toBe('2024-01-02');
    expect(String(b.ts)).toMatch(/^2024-01-02[ T]03:04:05/);
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

  it('key-diff deletes: a vanished key is deleted with a tombstone (an older copy stays out, a newer one comes back); recent scopes it; full tables too', async () => {
    await db.server.admin(`CREATE TABLE kd (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
      INSERT INTO kd SELECT g, 'v' || g, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series(1, 5) g;
      CREATE TABLE kd_recent (id int PRIMARY KEY, updated_at timestamptz NOT NULL);
      INSERT INTO kd_recent VALUES (1, '2024-01-01 00:00:00+00'), (2, '2024-01-01 00:00:00+00'), (3, '2024-01-03 00:00:00+00'), (4, '2024-01-03 00:00:00+00');
      CREATE TABLE kd_full (id int PRIMARY KEY, v text);
      INSERT INTO kd_full VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
    const w = workspace(
      `  pg:
    url: ${db.server.url()}
    passwordEnv: PG_PW
    tables: [kd, kd_recent, kd_full]
    target: ./lake
    lookback: 1h
    pageSize: 2
    keyDiff: true
` +
        `    withoutWatermark: full
    properties:
      delta.enableDeletionVectors: true
    tableOptions:
      kd_recent:
        keyDiff:
          recent: 1d
`,
    );
    process.env.PG_PW = 'admin-pw';
    const ids = async (t: string) => (await read(join(w.dir, 'lake', t))).map((r) => r.id);
    const first = await sync(w.yml);
    expect(first.failed).toEqual([]);
    expect(first.synced.map((t) => [t.table, t.inserted, t.deleted, t.keyDiff])).toEqual([
      ['kd', 5, 0, { sourceKeys: 5, deletes: 0 }],
      ['kd_recent', 4, 0, { sourceKeys: 2, deletes: 0 }],
      ['kd_full', 3, 0, { sourceKeys: 3, deletes: 0 }],
    ]);

    await db.server.admin(`DELETE FROM kd WHERE id IN (2, 4); UPDATE kd SET v = 'x', updated_at = '2024-01-01 00:10:00+00' WHERE id = 5;
      DELETE FROM kd_recent WHERE id IN (1, 3); DELETE FROM kd_full WHERE id = 2`);
    const second = await sync(w.yml);
    expect(second.failed).toEqual([]);
    const [kd, recent, full] = second.synced;
    // The lookback re-reads 1, 3 and 5; only 5 changed.
    expect(kd).toMatchObject({ rowsRead: 3, updated: 1, deleted: 2, keyDiff: { sourceKeys: 3, deletes: 2 } });
    expect(await ids('kd')).toEqual([1, 3, 5]);
    // The targets carry the source's properties: with deletion vectors the deletes rewrote no data file.
    const kdTable = await DeltaTable.forPath(join(w.dir, 'lake', 'kd'), { compute: engine.compute });
    const lastMerge = (await kdTable.history()).find((h) => h.operation === 'MERGE')!;
    expect((await kdTable.latest()).configuration['delta.enableDeletionVectors']).toBe('true');
    kdTable.close();
    expect(Number(lastMerge.operationMetrics?.numTargetDeletionVectorsAdded)).toBeGreaterThan(0);
    // Only the last day is compared: id 3 goes, id 1 (older) is outside the range and stays.
    expect(recent).toMatchObject({ rowsRead: 1, deleted: 1, keyDiff: { sourceKeys: 1, deletes: 1 } });
    expect(await ids('kd_recent')).toEqual([1, 2, 4]);
    expect(full).toMatchObject({ deleted: 1 });
    expect(await ids('kd_full')).toEqual([1, 3]);
    // The deleted keys' watermark did not move the table's: nothing newer than 00:10 was read.
    expect(kd.watermark).toEqual({ value: '2024-01-01 00:10:00+00', key: ['5'] });

    // Back in the source: id 2 with a time older than its delete (a late copy: its tombstone keeps it
    // out), id 4 newer than its delete (a real re-insert: it comes back).
    await db.server.admin(`INSERT INTO kd VALUES (2, 'late', '2024-01-01 00:00:01+00'), (4, 'again', '2024-01-01 00:20:00+00')`);
    const third = await sync(w.yml, { table: 'kd' });
    expect(third.synced[0]).toMatchObject({ inserted: 1, deleted: 0, keyDiff: { sourceKeys: 5, deletes: 0 } });
    expect((await read(join(w.dir, 'lake', 'kd'))).map((r) => [r.id, r.v])).toEqual([[1, 'v1'], [3, 'v3'], [4, 'again'], [5, 'x']]);

    // Seed 003's metadata table: a Delta table beside the targets, one row per table, from the committed states.
    const metadata = join(w.dir, 'lake', '_sync_metadata');
    const meta = async () => (await read(metadata, 'table_name')).map((r) => [r.table_name, r.last_sync_timestamp, r.last_sync_key, String(r.rows_synced), String(r.rows_total), String(r.batch)]);
    const expected = [
      ['kd', '2024-01-01 00:20:00+00', '["4"]', '5', '13', '3'],
      ['kd_full', null, null, '2', '5', '2'],
      ['kd_recent', '2024-01-03 00:00:00+00', '["4"]', '1', '5', '2'],
    ];
    expect(await meta()).toEqual(expected);
    const status = await sourceStatus(loadConfig(w.yml).sources[0], { warehouse: openWarehouse(DELTA, { compute: engine.compute }), clock: systemClock });
    expect(status.map((s) => [s.status.table, s.status.batch])).toEqual([['kd', 3], ['kd_full', 2], ['kd_recent', 2]]);
    // A run that moves nothing commits no new version of it; a lost (or stale) copy is rebuilt by the next run.
    const versions = () => readdirSync(join(metadata, '_delta_log')).filter((f) => f.endsWith('.json')).length;
    const before = versions();
    const idle = () => sync(w.yml, { table: 'no_such_table' }); // reads no table, still refreshes the copy
    expect((await idle()).synced).toEqual([]);
    expect(versions()).toBe(before);
    rmSync(metadata, { recursive: true, force: true });
    await idle();
    expect(await meta()).toEqual(expected);
  });

  it('a 1M-row first sync streams under a 64 MB JS heap cap (the real CLI; its RSS stays bounded)', async () => {
    const n = 1_000_000;
    // Rows made by the server itself; 50 rows share each updated_at, so pages continue by key.
    await db.server.admin(`CREATE TABLE million (id bigint PRIMARY KEY, account int NOT NULL, amount numeric(12,2), note text, updated_at timestamp NOT NULL);
      INSERT INTO million SELECT g, g % 1000, (g % 100000) / 100.0, md5(g::text), timestamp '2024-01-01' + (g / 50) * interval '1 second' FROM generate_series(1, ${n}) g;
      CREATE INDEX ON million (updated_at, id); ANALYZE million`);
    const w = workspace(`  pg:\n    url: ${db.server.url()}\n    passwordEnv: PG_PW\n    tables: [million]\n    target: ./lake\n`);
    // The whole table as JS values would need several hundred MB of heap; the cap is 64 MB.
    const child = startLakelet(['sync', '-c', w.yml, '--quiet', '--json'], { env: { PG_PW: 'admin-pw', NODE_OPTIONS: '--max-old-space-size=64' } });
    let peakKb = 0;
    const sampler = setInterval(() => {
      try {
        peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.child.pid}/status`, 'utf8'))?.[1] ?? 0));
      } catch {
        // exited
      }
    }, 50);
    const done = await child.exited;
    clearInterval(sampler);
    expect(done.code, done.stderr).toBe(0);
    const summary = JSON.parse(done.stdout);
    expect(summary.failed).toEqual([]);
    expect(summary.synced[0]).toMatchObject({ rowsRead: n, inserted: n, pages: 21, files: 4 });
    const [count] = await engine.compute.query<{ n: bigint; ids: bigint; sum: string }>(
      `SELECT count(*) AS n, count(DISTINCT id) AS ids, CAST(sum(amount) AS VARCHAR) AS sum FROM read_parquet('${join(w.dir, 'lake', 'million').replace(/'/g, "''")}/*.parquet')`,
    );
    expect([Number(count.n), Number(count.ids)]).toEqual([n, n]);
    expect(count.sum).toBe(String((await db.server.admin('SELECT CAST(sum(amount) AS text) AS s FROM million'))[0].s));
    // Node, DuckDB (its own memory, outside the JS heap) and one page in flight: far below the table's size.
    if (peakKb > 0) expect(peakKb / 1024).toBeLessThan(700);
    await db.server.admin('DROP TABLE million');
  }, 240_000);

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
