import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/pipeline/config.ts';
import { lakelet, lakeletOk } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

/** `lakelet generate <dataset> --pipeline <name>`: into a pipeline's landing folder, only when the data fits it. */
let tmp: { dir: string; cleanup: () => void };
let config: string;
beforeAll(() => {
  tmp = tempDir('lakelet-generate-pipeline-');
  config = join(tmp.dir, 'lakelet.yml');
  copyFileSync(join(process.cwd(), 'lakelet.yml'), config);
});
afterAll(() => tmp.cleanup());

describe('lakelet generate --pipeline', () => {
  it("writes into the pipeline's landing folder, in its format, with the columns the pipeline needs", async () => {
    const orders = loadConfig(config).pipelines.find((p) => p.name === 'orders')!;
    await lakeletOk(['generate', 'orders', '--rows', '100', '--files', '2', '--pipeline', 'orders', '-c', config]);
    expect(readdirSync(orders.landing).sort()).toEqual(['orders-b0000.csv', 'orders-b0001.csv']);
    const header = readFileSync(join(orders.landing, 'orders-b0000.csv'), 'utf8').split('\n')[0].split(',');
    expect(header).toContain(orders.key[0]);
    expect(header).toContain(orders.orderBy);
  });

  it('refuses, writing nothing, when the data would not fit the pipeline', async () => {
    const cases: [string[], RegExp][] = [
      [['generate', 'accounts', '--pipeline', 'orders'], /pipeline 'orders' .* needs key column 'tracking_num' and orderBy column 'updated_at', which accounts data does not have/],
      [['generate', 'orders', '--pipeline', 'orders', '--format', 'parquet'], /reads csv files, not parquet/],
      [['generate', 'orders', '--pipeline', 'orders', '--delete-fraction', '0.1'], /has no delete marker .*op = 'D'.* would be loaded as ordinary rows/],
      [['generate', 'orders', '--pipeline', 'customers'], /reads json files; lakelet generate writes csv, ndjson, parquet/],
      [['generate', 'orders', '--pipeline', 'nope'], /no pipeline named nope in .*lakelet\.yml \(it has orders, accounts/],
      [['generate', 'orders', '--pipeline', 'orders', '--out', tmp.dir], /either --out or --pipeline/],
    ];
    for (const [args, message] of cases) {
      const r = await lakelet([...args, '-c', config, '--rows', '10']);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(join(tmp.dir, 'work-data', 'landing', 'accounts'))).toBe(false);
  }, 60_000);

  it('refuses data without the partition column the target is to be partitioned by', async () => {
    const partitioned = join(tmp.dir, 'partitioned.yml');
    writeFileSync(partitioned, readFileSync(config, 'utf8').replace(/^(  orders:\n)/m, '$1    partitionBy: [region]\n'));
    expect(loadConfig(partitioned).pipelines.find((p) => p.name === 'orders')!.partitionBy).toEqual(['region']);
    const r = await lakelet(['generate', 'orders', '--rows', '10', '--pipeline', 'orders', '-c', partitioned]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/needs partitionBy column 'region', which orders data does not have .*change the pipeline's partitionBy/);
  });

  it('a pipeline name lakelet.yml does not define is wrong usage (exit 2) for every command taking -p', async () => {
    for (const args of [['run', '--once', '-p', 'nope'], ['status', '-p', 'nope'], ['requeue', '--all', '-p', 'nope'], ['generate', 'orders', '--pipeline', 'nope']]) {
      const r = await lakelet([...args, '-c', config]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^lakelet: no pipeline named nope in .*lakelet\.yml \(it has orders, accounts/);
    }
  });
});
