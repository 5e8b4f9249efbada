import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeltaTable } from '../../src/engine/table.ts';
import { buildProgram } from '../../src/cli/main.ts';
import { lakelet, lakeletOk } from '../support/cli.ts';

const lakeletArgs = (...args: string[]) => lakelet(args);
const ok = (...args: string[]) => lakeletOk(args);

/**
 * The new table-maintenance commands through the real `lakelet` binary. Each spawn costs about a
 * second, so each test chains a few commands on one table.
 */

let dir: string;
let table: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lakelet-ops-cli-'));
  table = join(dir, 'orders');
  writeFileSync(join(dir, 'a.csv'), 'id,region,amount\n1,eu,10\n2,eu,20\n3,us,30\n4,us,40\n');
  writeFileSync(join(dir, 'b.csv'), 'id,region,amount\n5,eu,50\n6,us,60\n');
  await ok('write', table, '--from', join(dir, 'a.csv'), '--partition-by', 'region'); // v0
  await ok('write', table, '--from', join(dir, 'b.csv')); // v1
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('lakelet delete/update/optimize/restore/vacuum/changes', () => {
  it('update and delete print their metrics; restore brings the rows back', async () => {
    const updated = await ok('update', table, '--set', 'amount=amount * 2, region=upper(region)', '--where', 'id IN (1, 5)', '--json');
    expect(JSON.parse(updated.stdout)).toMatchObject({ version: 2, numUpdatedRows: 2, numCopiedRows: 1 });
    const deleted = await ok('delete', table, '--where', "region = 'us'");
    expect(deleted.stdout).toMatch(/^deleted 3 rows from .*orders in version 3\n/);
    expect(deleted.stdout).toMatch(/files removed\s+2 /);

    const usage = await lakeletArgs('delete', table);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--where/);

    const restored = await ok('restore', table, '--version', '1', '--json');
    expect(JSON.parse(restored.stdout)).toMatchObject({ version: 4, numOfFilesAfterRestore: 4 });
    const rows = await ok('read', table, '--format', 'ndjson', '--columns', 'id,amount');
    expect(rows.stdout.trim().split('\n').map((l) => JSON.parse(l).id).sort()).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('optimize compacts, vacuum refuses a short retention unless forced, dry run lists files', async () => {
    const optimized = await ok('optimize', table, '--json');
    expect(JSON.parse(optimized.stdout)).toMatchObject({ numFilesRemoved: 4, numFilesAdded: 2, partitionsOptimized: 2 });

    const refused = await lakeletArgs('vacuum', table, '--retain-hours', '0');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^lakelet: .*refusing to vacuum/);
    const dry = await ok('vacuum', table, '--retain-hours', '0', '--force', '--dry-run');
    expect(dry.stdout).toMatch(/^dry run: would delete \d+ files/);
    expect(dry.stdout).toMatch(/part-00000-.*\.parquet/);
    const history = JSON.parse((await ok('history', table, '--json', '--limit', '1')).stdout);
    expect(history[0].operation).toBe('OPTIMIZE');
  });

  it('changes prints the feed, or a one-line typed error when the feed is off', async () => {
    const cdf = join(dir, 'cdf');
    const t = await DeltaTable.forPath(cdf);
    await t.write({ sql: `SELECT range::BIGINT AS id, 'v' || range AS v FROM range(3)` }).properties({ 'delta.enableChangeDataFeed': 'true' }).execute();
    await t.update({ v: "'x'" }, 'id = 1').execute();
    t.close();
    const [feed, notEnabled] = await Promise.all([
      ok('changes', cdf, '--from-version', '1', '--format', 'ndjson'),
      lakeletArgs('changes', table, '--from-version', '0'),
    ]);
    const rows = feed.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => [r.id, r.v, r._change_type, r._commit_version])).toEqual([
      ['1', 'v1', 'update_preimage', '1'],
      ['1', 'x', 'update_postimage', '1'],
    ]);
    expect(rows[0]._commit_timestamp).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(notEnabled.code).toBe(1);
    expect(notEnabled.stderr).toMatch(/^lakelet: .*change data was not recorded for version 0/);
  });

  it('every new command has --help with examples', async () => {
    const program = await buildProgram();
    for (const name of ['delete', 'update', 'optimize', 'vacuum', 'restore', 'changes']) {
      const command = program.commands.find((c) => c.name() === name)!;
      expect(command, name).toBeDefined();
      let help = '';
      command.configureOutput({ writeOut: (s) => (help += s) });
      command.outputHelp();
      expect(help).toMatch(new RegExp(`^Usage: lakelet ${name} \\[options\\] <table>`));
      expect(help).toContain('Examples:');
    }
  });
});
