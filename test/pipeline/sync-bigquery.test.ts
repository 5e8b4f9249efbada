import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/adapters/clock.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import { loadConfig } from '../../src/pipeline/config.ts';
import { silentReporter } from '../../src/pipeline/reporter.ts';
import { syncSources } from '../../src/pipeline/sync/sync-runner.ts';
import { BigQueryClient } from '../../src/warehouse/bigquery/client.ts';
import { openWarehouse } from '../../src/warehouse/open-warehouse.ts';
import { bqEmulatorAvailable, useBigQueryEmulator } from '../support/bigquery-emulator.ts';
import { useEngine } from '../support/engine-fixture.ts';
import { requirePeer } from '../support/peers.ts';

/** The embedded warehouse (its settings name no file: Delta table paths are given whole here). */
const DELTA = { warehouse: 'delta', file: '' } as const;

/**
 * A `bigquery://project/dataset` source (seed 001's hourly DAG over BigQuery tables) against the
 * BigQuery emulator, in process: discovery through INFORMATION_SCHEMA.COLUMNS, keys from
 * lakelet.yml (the emulator has no key views), types, and a watermark instead of a fixed window.
 */
const bqMode = requirePeer('bqemulator', bqEmulatorAvailable);
const bq = useBigQueryEmulator();
const engine = useEngine('lakelet-sync-bq-');
let dir = '';
let client: BigQueryClient;
beforeAll(() => {
  if (bqMode !== 'run') return;
  process.env.BIGQUERY_EMULATOR_HOST = bq.emulator.endpoint;
  client = BigQueryClient.open({ project: 'lakelet-test', dataset: 'src', location: 'US' }, { BIGQUERY_EMULATOR_HOST: bq.emulator.endpoint });
  dir = mkdtempSync(join(tmpdir(), 'lakelet-sync-bq-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  delete process.env.BIGQUERY_EMULATOR_HOST;
});

const sync = () =>
  syncSources(loadConfig(join(dir, 'lakelet.yml')), { warehouse: openWarehouse(DELTA, { compute: engine.compute }), compute: engine.compute, clock: systemClock, reporter: silentReporter });

async function rows(table: string): Promise<Record<string, unknown>[]> {
  const t = await DeltaTable.forPath(join(dir, 'lake', table), { compute: engine.compute });
  try {
    return await t.read({ orderBy: 'id' });
  } finally {
    t.close();
  }
}

describe.skipIf(bqMode === 'skip')('lakelet sync from BigQuery (bqemulator)', () => {
  it('discovers tables with a timestamp column, maps types, and reads past the watermark (a late run loses nothing)', async () => {
    await client.query('CREATE SCHEMA IF NOT EXISTS `lakelet-test.src`');
    await client.query(
      'CREATE TABLE `lakelet-test.src.events` (id INT64, name STRING, amount NUMERIC, raw BYTES, at_ts TIMESTAMP, local_dt DATETIME, tags ARRAY<STRING>, updated_at TIMESTAMP);' +
        'CREATE TABLE `lakelet-test.src.signups` (id INT64, email STRING, created_at DATETIME);' +
        'CREATE TABLE `lakelet-test.src.lookup` (id INT64, label STRING);' +
        'CREATE TABLE `lakelet-test.src.nokey` (v STRING, updated_at TIMESTAMP)',
    );
    await client.query(
      "INSERT INTO `lakelet-test.src.events` (id, name, amount, raw, at_ts, local_dt, tags, updated_at) VALUES " +
        "(1, 'a', NUMERIC '1.5', FROM_BASE64('AP8='), TIMESTAMP '2024-01-01 10:00:00+00', DATETIME '2024-01-01 10:00:00.5', ['x', 'y'], TIMESTAMP '2024-01-01 00:00:00.123456+00'), " +
        "(2, 'b', NULL, NULL, NULL, NULL, [], TIMESTAMP '2024-01-01 00:00:00.123456+00'), (3, 'c', NUMERIC '-2', NULL, NULL, NULL, NULL, TIMESTAMP '2024-01-02 00:00:00+00')",
    );
    await client.query("INSERT INTO `lakelet-test.src.signups` (id, email, created_at) VALUES (1, 'x@example.org', DATETIME '2024-01-01 08:00:00')");
    writeFileSync(
      join(dir, 'lakelet.yml'),
      'sources:\n  bq:\n    url: bigquery://lakelet-test/src?location=US\n    target: ./lake\n    lookback: 0s\n    pageSize: 2\n' +
        '    tableOptions:\n      events:\n        key: [id]\n      signups:\n        key: [id]\n      lookup:\n        key: [id]\n',
    );
    const first = await sync();
    expect(first.failed).toEqual([]);
    expect(first.synced.map((t) => [t.table, t.rowsRead, t.inserted, t.watermark?.value])).toEqual([
      ['events', 3, 3, '2024-01-02 00:00:00.000000+00'],
      ['signups', 1, 1, '2024-01-01 08:00:00'],
    ]);
    expect(first.skipped.map((s) => [s.table, s.reason.split(' (')[0]])).toEqual([
      ['lookup', 'no watermark column'],
      ['nokey', 'no primary key'],
    ]);
    const [a, b] = await rows('events');
    expect(a).toMatchObject({ id: '1', name: 'a', tags: '["x","y"]' });
    expect(Number(a.amount)).toBe(1.5);
    expect(a.raw).toBe('AP8='); // bytes 00 ff (read gives binary as base64)
    expect(String(a.at_ts)).toMatch(/^2024-01-01[ T]10:00:00(\.0+)?(Z|\+00(:00)?)$/);
    expect(String(a.local_dt)).toMatch(/^2024-01-01[ T]10:00:00\.5/);
    expect(String(a.updated_at)).toMatch(/^2024-01-01[ T]00:00:00\.123456/);
    expect(b).toMatchObject({ id: '2', amount: null, raw: null });

    // A run hours "late": rows changed long before now but after the watermark are all read (a
    // fixed 60-minute window would have lost them); rows at or before it are not read again.
    await client.query(
      "UPDATE `lakelet-test.src.events` SET name = 'c2', updated_at = TIMESTAMP '2024-01-03 00:00:00+00' WHERE id = 3; " +
        "INSERT INTO `lakelet-test.src.events` (id, name, updated_at) VALUES (4, 'd', TIMESTAMP '2024-01-03 05:00:00+00')",
    );
    const second = await sync();
    expect(second.failed).toEqual([]);
    expect(second.synced.find((t) => t.table === 'events')).toMatchObject({ rowsRead: 2, inserted: 1, updated: 1, watermark: { value: '2024-01-03 05:00:00.000000+00', key: ['4'] } });
    expect((await rows('events')).map((r) => [r.id, r.name])).toEqual([['1', 'a'], ['2', 'b'], ['3', 'c2'], ['4', 'd']]);
  });
});
