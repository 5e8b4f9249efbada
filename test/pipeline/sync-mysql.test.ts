import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/adapters/clock.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import { loadConfig } from '../../src/pipeline/config.ts';
import { silentReporter } from '../../src/pipeline/reporter.ts';
import { syncSources, type SyncOptions } from '../../src/pipeline/sync/sync-runner.ts';
import { syncStatus } from '../../src/pipeline/sync/sync-status.ts';
import { openWarehouse } from '../../src/warehouse/open-warehouse.ts';
import { lakelet } from '../support/cli.ts';
import { mariadbAvailable, useMariaDb } from '../support/db-servers.ts';
import { useEngine } from '../support/engine-fixture.ts';
import { requirePeer } from '../support/peers.ts';

/** The embedded warehouse (its settings name no file: Delta table paths are given whole here). */
const DELTA = { warehouse: 'delta', file: '' } as const;

/**
 * `lakelet sync` from a real MariaDB (started for this file, server time zone +02:00), through the
 * real CLI: types, incremental runs, pages with equal timestamps, the lookback window, soft deletes,
 * schema drift, discovery, hostile names, least privilege, a bad source, and a SIGKILL at each step.
 */
const mode = requirePeer('mariadb', mariadbAvailable);
const db = useMariaDb();
const engine = useEngine('lakelet-sync-mysql-');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function workspace(source: string): { dir: string; yml: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lakelet-sync-mysql-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'pw'), 'admin-pw\n');
  writeFileSync(join(dir, 'lakelet.yml'), `sources:\n${source}`);
  return { dir, yml: join(dir, 'lakelet.yml') };
}

/** One `lakelet sync` in this process (the CLI's own path is taken by the crash tests below). */
async function sync(yml: string, options: SyncOptions = {}, env: Record<string, string> = {}) {
  Object.assign(process.env, env);
  const warehouse = openWarehouse(DELTA, { compute: engine.compute });
  return syncSources(loadConfig(yml), { warehouse, compute: engine.compute, clock: systemClock, reporter: silentReporter }, options);
}

async function rows(path: string, orderBy = 'id'): Promise<Record<string, unknown>[]> {
  const t = await DeltaTable.forPath(path, { compute: engine.compute });
  try {
    return await t.read({ orderBy: `"${orderBy.replace(/"/g, '""')}"` });
  } finally {
    t.close();
  }
}

async function schemaOf(path: string): Promise<Record<string, unknown>> {
  const t = await DeltaTable.forPath(path, { compute: engine.compute });
  try {
    return Object.fromEntries((await t.latest()).schema.fields.map((f) => [f.name, f.type]));
  } finally {
    t.close();
  }
}

describe.skipIf(mode === 'skip')('lakelet sync from MariaDB', () => {
  it('maps types faithfully: DECIMAL, BIGINT UNSIGNED, DATETIME vs TIMESTAMP (server zone), JSON, BLOB, ENUM, tinyint(1), zero dates', async () => {
    await db.server.admin(
      "CREATE TABLE types_t (id BIGINT UNSIGNED PRIMARY KEY, amount DECIMAL(14,4), flag TINYINT(1), local_dt DATETIME(3), instant TIMESTAMP(6) NOT NULL, doc JSON, bytes VARBINARY(8), kind ENUM('small','large'), zero_dt DATETIME NULL, updated_at TIMESTAMP(6) NOT NULL)",
    );
    await db.server.admin(
      "SET SESSION sql_mode = ''; INSERT INTO types_t VALUES (18446744073709551615, 1234567890.1234, 1, '2024-03-31 02:30:00.250', '2024-06-01 12:00:00', '{\"a\": [1, 2.5]}', X'00FF7F', 'large', '0000-00-00 00:00:00', '2024-06-01 12:00:00'), (1, -0.0001, 0, NULL, '2024-06-01 12:00:00', NULL, NULL, 'small', NULL, '2024-06-01 12:00:00')",
    );
    const w = workspace(`  shop:\n    url: ${db.server.url()}\n    passwordFile: ./pw\n    tables: [types_t]\n    target: ./lake\n`);
    const r = await sync(w.yml);
    expect(r.failed).toEqual([]);
    const [small, big] = await rows(join(w.dir, 'lake', 'types_t'));
    expect(big).toMatchObject({ id: '18446744073709551615', amount: '1234567890.1234', flag: true, kind: 'large', zero_dt: null, doc: '{"a": [1, 2.5]}' });
    // DATETIME is what was stored (no zone); TIMESTAMP 12:00 in the server's +02:00 is 10:00 UTC.
    expect(String(big.local_dt)).toMatch(/^2024-03-31[ T]02:30:00\.25/);
    expect(String(big.instant)).toMatch(/^2024-06-01[ T]10:00:00(\.0+)?(Z|\+00(:00)?)$/);
    expect(small).toMatchObject({ id: '1', amount: '-0.0001', flag: false, local_dt: null, doc: null, bytes: null });
    expect(await schemaOf(join(w.dir, 'lake', 'types_t'))).toMatchObject({ id: 'decimal(20,0)', amount: 'decimal(14,4)', flag: 'boolean', local_dt: 'timestamp_ntz', instant: 'timestamp', doc: 'string', bytes: 'binary', kind: 'string' });
  });

  it('syncs incrementally: equal updated_at across pages, a late row inside the lookback, soft deletes, an added column; watermark committed with the data', async () => {
    await db.server.admin(
      "CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(10,2), deleted_at DATETIME NULL, updated_at DATETIME(6) NOT NULL); INSERT INTO orders VALUES (1, 10, NULL, '2024-01-01 00:00:00'), (2, 20, NULL, '2024-01-01 00:00:00'), (3, 30, NULL, '2024-01-01 00:00:00'), (4, 40, NULL, '2024-01-01 00:00:00'), (5, 50, NULL, '2024-01-02 00:00:00')",
    );
    const w = workspace(`  shop:\n    url: ${db.server.url()}\n    passwordEnv: SHOP_PW\n    tables: [orders]\n    target: ./lake\n    pageSize: 2\n    lookback: 1h\n    softDelete: deleted_at\n`);
    const env = { SHOP_PW: 'admin-pw' };
    const first = await sync(w.yml, {}, env);
    expect(first.failed).toEqual([]);
    // Four rows share one updated_at: pages of 2 continue by key, none lost or repeated.
    expect(first.synced[0]).toMatchObject({ table: 'orders', rowsRead: 5, pages: 3, inserted: 5, seq: 1, watermark: { value: '2024-01-02 00:00:00.000000', key: ['5'] } });
    expect((await rows(join(w.dir, 'lake', 'orders'))).map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);

    // An update, an insert, a soft delete, a late row committed with an older time inside the lookback, and a new column.
    await db.server.admin(
      "UPDATE orders SET amount = 21, updated_at = '2024-01-03 00:00:00' WHERE id = 2; INSERT INTO orders VALUES (6, 60, NULL, '2024-01-03 00:00:00'); UPDATE orders SET deleted_at = '2024-01-03 00:00:00', updated_at = '2024-01-03 00:00:00' WHERE id = 3; ALTER TABLE orders ADD COLUMN note VARCHAR(20) NULL; INSERT INTO orders VALUES (7, 70, NULL, '2024-01-02 23:30:00', 'late')",
    );
    const second = await sync(w.yml, {}, env);
    expect(second.failed).toEqual([]);
    // Read from 23:00 on 01-02 (lookback 1h before the watermark): 5 unchanged, 7 late, 2, 3, 6.
    expect(second.synced[0]).toMatchObject({ rowsRead: 5, inserted: 2, updated: 1, deleted: 1, seq: 2 });
    expect(second.synced[0].drift).toEqual(['column note (varchar(20)) was added']);
    const after = await rows(join(w.dir, 'lake', 'orders'));
    expect(after.map((r) => [r.id, r.amount, r.note ?? null])).toEqual([[1, '10.00', null], [2, '21.00', null], [4, '40.00', null], [5, '50.00', null], [6, '60.00', null], [7, '70.00', 'late']]);

    // Nothing changed: the overlap is re-read but neither rewritten nor counted.
    const third = await sync(w.yml, {}, env);
    expect(third.synced[0]).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });

    // Seed 003's metadata row, as committed with the data (5 + 5 + 4 rows read over three runs).
    const status = await syncStatus(loadConfig(w.yml), { warehouse: openWarehouse(DELTA, { compute: engine.compute }), compute: engine.compute, clock: systemClock });
    const table = status[0].tables[0];
    expect(table).toMatchObject({ source: 'shop', table: 'orders', watermark: '2024-01-03 00:00:00.000000', rowsLastRun: 4, rowsTotal: 14, batch: 3 });
    expect(table.lastRun).toBeTruthy();
  });

  it('discovers tables with a key and a timestamp, reports the others; hostile names are quoted; a SELECT-only user suffices', async () => {
    await db.server.admin('CREATE DATABASE disco');
    await db.server.admin(
      "CREATE TABLE disco.`we;ird ``name`` ñ` (`id \"x\"` INT PRIMARY KEY, `va'l` VARCHAR(10), created_at DATETIME NOT NULL); INSERT INTO disco.`we;ird ``name`` ñ` VALUES (1, 'a', '2024-01-01'), (2, 'b''c', '2024-01-01');" +
        'CREATE TABLE disco.no_time (id INT PRIMARY KEY, v INT); CREATE TABLE disco.no_key (v INT, updated_at DATETIME);' +
        "CREATE USER 'reader'@'%' IDENTIFIED BY 'read-pw'; GRANT SELECT ON disco.* TO 'reader'@'%';",
    );
    const w = workspace(
      `  disco:\n    url: ${db.server.url('reader', 'disco')}\n    passwordEnv: READER_PW\n    target: ./lake\n` +
        `  broken:\n    url: ${db.server.url('reader', 'disco')}\n    passwordEnv: WRONG_PW\n    target: ./lake2\n`,
    );
    const r = await sync(w.yml, {}, { READER_PW: 'read-pw', WRONG_PW: 'nope' });
    expect(r.synced.map((t: { table: string }) => t.table)).toEqual(['we;ird `name` ñ']);
    expect(r.skipped.map((t: { table: string; reason: string }) => [t.table, t.reason.split(' (')[0]])).toEqual([
      ['no_key', 'no primary key'],
      ['no_time', 'no watermark column'],
    ]);
    expect(r.failed).toEqual([{ source: 'broken', error: "source 'broken': cannot connect: access denied (wrong user or password?)" }]);
    // On the command line the summary table cuts that note; the whole message follows it.
    const cli = await lakelet(['sync', '-c', w.yml, '--quiet'], { env: { READER_PW: 'read-pw', WRONG_PW: 'nope' } });
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/^FAILED broken: source 'broken': cannot connect: access denied \(wrong user or password\?\)$/m);
    // sync takes --profile as the other commands reading lakelet.yml do.
    const profile = await lakelet(['sync', '-c', w.yml, '--profile', 'nope'], { env: { READER_PW: 'read-pw', WRONG_PW: 'nope' } });
    expect(profile.code).toBe(2);
    expect(profile.stderr).toMatch(/unknown profile 'nope'/);
    const lake = join(w.dir, 'lake');
    // One folder per synced table, beside the source's metadata table.
    const folders = readdirSync(lake).filter((f) => f !== '_sync_metadata');
    expect(folders).toHaveLength(1);
    const [folder] = folders;
    expect(folder).toMatch(/^we_ird__name___-[0-9a-f]{8}$/);
    expect((await rows(join(lake, folder), 'id "x"')).map((x) => x[`va'l`])).toEqual(['a', "b'c"]);
  });

  it('a password in the URL is refused with a clear error', async () => {
    const w = workspace(`  shop:\n    url: mysql://admin:secret@127.0.0.1:${db.server.port}/lakelet_test\n    target: ./lake\n`);
    expect(() => loadConfig(w.yml)).toThrow(/the URL holds a password; remove it from lakelet.yml and give it with passwordEnv/);
  });

  it('a SIGKILL during recovery (after its tombstones, then after its MERGE), then a rerun: key-diff deletes and rows land exactly once', async () => {
    await db.server.admin(`CREATE TABLE crash_recovery (id INT PRIMARY KEY, v INT, updated_at DATETIME NOT NULL); INSERT INTO crash_recovery VALUES (1, 1, '2024-01-01'), (2, 2, '2024-01-01'), (3, 3, '2024-01-02')`);
    const w = workspace(`  shop:\n    url: ${db.server.url()}\n    passwordFile: ./pw\n    tables: [crash_recovery]\n    target: ./lake\n    lookback: 0s\n    keyDiff: true\n`);
    expect((await sync(w.yml)).failed).toEqual([]);
    await db.server.admin(`UPDATE crash_recovery SET v = 10, updated_at = '2024-01-03' WHERE id = 1; INSERT INTO crash_recovery VALUES (4, 4, '2024-01-03'); DELETE FROM crash_recovery WHERE id = 2`);
    // Batch 2 staged, not merged; then two recoveries that die: before the MERGE (its tombstones are in), and after it.
    for (const at of ['after-stage-commit:2', 'after-tombstones:2', 'after-target-commit:2']) {
      const crashed = await lakelet(['sync', '-c', w.yml, '--quiet'], { env: { LAKELET_CRASH_AT: at } });
      expect(crashed.signal, `${at}: ${crashed.stderr}`).toBe('SIGKILL');
    }
    const rerun = await sync(w.yml);
    expect(rerun.failed).toEqual([]);
    expect(rerun.synced[0]).toMatchObject({ recovered: false, rowsRead: 0, deleted: 0 });
    expect((await rows(join(w.dir, 'lake', 'crash_recovery'))).map((r) => [r.id, r.v])).toEqual([[1, 10], [3, 3], [4, 4]]);
    const t = await DeltaTable.forPath(join(w.dir, 'lake', 'crash_recovery'), { compute: engine.compute });
    const merges = (await t.history()).filter((h) => h.operation === 'MERGE');
    t.close();
    const sum = (k: string) => merges.reduce((a, h) => a + Number(h.operationMetrics?.[k] ?? 0), 0);
    expect(merges.length).toBe(2);
    expect([sum('numTargetRowsInserted'), sum('numTargetRowsUpdated'), sum('numTargetRowsDeleted')]).toEqual([4, 1, 1]);
  });

  it('a dropped and a retyped column: evolve keeps the target (dropped → NULL, retyped → cast to the lake type) and says so; fail stops with the changes named', async () => {
    await db.server.admin(`CREATE TABLE drift_t (id INT PRIMARY KEY, qty INT, note VARCHAR(10), updated_at DATETIME NOT NULL); INSERT INTO drift_t VALUES (1, 5, 'a', '2024-01-01')`);
    const yml = (policy: string) => `  shop:\n    url: ${db.server.url()}\n    passwordFile: ./pw\n    tables: [drift_t]\n    target: ./lake\n    lookback: 0s\n    schemaDrift: ${policy}\n`;
    const w = workspace(yml('evolve'));
    expect((await sync(w.yml)).failed).toEqual([]);
    await db.server.admin(`ALTER TABLE drift_t DROP COLUMN note, MODIFY qty DECIMAL(10,2); INSERT INTO drift_t VALUES (2, 7.00, '2024-01-02')`);
    writeFileSync(w.yml, `sources:\n${yml('fail')}`);
    const failed = await sync(w.yml);
    expect(failed.failed).toEqual([
      { source: 'shop', table: 'drift_t', error: expect.stringMatching(/table drift_t changed in the source: column note was dropped; column qty changed type to decimal\(10,2\) .*schemaDrift is fail, so nothing was synced/) },
    ]);
    writeFileSync(w.yml, `sources:\n${yml('evolve')}`);
    const evolved = await sync(w.yml);
    expect(evolved.failed).toEqual([]);
    expect(evolved.synced[0]).toMatchObject({ rowsRead: 1, inserted: 1 });
    expect(evolved.synced[0].drift).toEqual(['column note was dropped', expect.stringMatching(/^column qty changed type to decimal\(10,2\) \(DECIMAL\(10,2\); the lake has INTEGER\)$/)]);
    expect((await rows(join(w.dir, 'lake', 'drift_t'))).map((r) => [r.id, r.qty, r.note])).toEqual([[1, 5, 'a'], [2, 7, null]]);
    expect(await schemaOf(join(w.dir, 'lake', 'drift_t'))).toMatchObject({ qty: 'integer', note: 'string' });
  });

  it.each(['after-extract', 'after-stage-commit', 'after-target-commit'])('a SIGKILL %s, then a rerun: no row skipped or repeated', async (point) => {
    const name = `crash_${point.replace(/-/g, '_')}`;
    await db.server.admin(`CREATE TABLE ${name} (id INT PRIMARY KEY, v INT, updated_at DATETIME NOT NULL); INSERT INTO ${name} VALUES (1, 1, '2024-01-01'), (2, 2, '2024-01-02')`);
    const w = workspace(`  shop:\n    url: ${db.server.url()}\n    passwordFile: ./pw\n    tables: [${name}]\n    target: ./lake\n    lookback: 0s\n`);
    expect((await sync(w.yml)).failed).toEqual([]);
    await db.server.admin(`UPDATE ${name} SET v = 10, updated_at = '2024-01-03' WHERE id = 1; INSERT INTO ${name} VALUES (3, 3, '2024-01-03')`);
    const crashed = await lakelet(['sync', '-c', w.yml, '--quiet'], { env: { LAKELET_CRASH_AT: `${point}:2` } });
    expect(crashed.signal).toBe('SIGKILL');
    await db.server.admin(`INSERT INTO ${name} VALUES (4, 4, '2024-01-04')`);
    const rerun = await sync(w.yml);
    expect(rerun.failed).toEqual([]);
    expect(rerun.synced[0].recovered).toBe(point === 'after-stage-commit');
    expect((await rows(join(w.dir, 'lake', name))).map((r) => [r.id, r.v])).toEqual([[1, 10], [2, 2], [3, 3], [4, 4]]);
    const t = await DeltaTable.forPath(join(w.dir, 'lake', name), { compute: engine.compute });
    const merges = (await t.history()).filter((h) => h.operation === 'MERGE');
    t.close();
    const inserted = merges.reduce((a, h) => a + Number(h.operationMetrics?.numTargetRowsInserted ?? 0), 0);
    // Rows 1-4 each inserted exactly once over all runs (row 1 updated once).
    expect(inserted).toBe(4);
    expect(merges.reduce((a, h) => a + Number(h.operationMetrics?.numTargetRowsUpdated ?? 0), 0)).toBe(1);
  });
});
