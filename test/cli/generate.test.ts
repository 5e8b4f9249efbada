import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/temp.ts';
import { lakelet as run } from '../support/cli.ts';

/** `lakelet generate` through the real binary (each spawn costs about a second). */
const lakelet = (...args: string[]) => run(args);

let tmp: { dir: string; cleanup: () => void };
beforeAll(() => {
  tmp = tempDir('lakelet-generate-cli-');
});
afterAll(() => tmp.cleanup());

describe('lakelet generate', () => {
  it('writes an initial load and incremental files, prints them as JSON, and repeats byte for byte', async () => {
    const args = (out: string) => ['generate', 'accounts', '--rows', '2k', '--files', '3', '--batch-rows', '500', '--delete-fraction', '0.1', '--format', 'ndjson', '--seed', '11', '--out', out, '--json'];
    const a = await lakelet(...args(join(tmp.dir, 'a')));
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const result = JSON.parse(a.stdout);
    expect(result).toMatchObject({ dataset: 'accounts', key: 'customer_id', format: 'ndjson', seed: 11, rows: 3000, keysIssued: 2400 });
    expect(result.files.map((f: { path: string }) => f.path.split('/').pop())).toEqual(['accounts-b0000.ndjson', 'accounts-b0001.ndjson', 'accounts-b0002.ndjson']);
    expect(result.files[1]).toMatchObject({ batch: 1, rows: 500, updates: 250, deletes: 50, inserts: 200 });
    const b = await lakelet(...args(join(tmp.dir, 'b')));
    expect(b.code).toBe(0);
    for (const name of ['accounts-b0000.ndjson', 'accounts-b0002.ndjson']) {
      expect(readFileSync(join(tmp.dir, 'b', name))).toEqual(readFileSync(join(tmp.dir, 'a', name)));
    }
    const first = JSON.parse(readFileSync(join(tmp.dir, 'a', 'accounts-b0001.ndjson'), 'utf8').split('\n')[0]);
    expect(Object.keys(first)).toEqual(['customer_id', 'account_number', 'credit_score', 'account_balance', 'last_modified', 'op']);
  });

  it('prints a table of the files without --json, and no progress bar when stderr is not a terminal', async () => {
    const r = await lakelet('generate', 'orders', '--rows', '1000', '--files', '2', '--out', join(tmp.dir, 'o'));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/wrote 2 files of orders \(1100 rows, .*\) to .* with seed 42; keys 1\.\.1050/);
    expect(r.stdout).toMatch(/orders-b0000\.csv\s+initial\s+1000\s+1000\s+0\s+0/);
    expect(r.stdout).toMatch(/orders-b0001\.csv\s+1\s+100\s+50\s+50\s+0/);
  });

  it('has help with examples, and refuses bad values with a one-line error', async () => {
    const help = await lakelet('generate', 'accounts', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('--updates-fraction');
    const top = await lakelet('generate', '--help');
    expect(top.stdout).toMatch(/accounts \[options\]/);
    expect(top.stdout).toMatch(/orders \[options\]/);
    const bad = await lakelet('generate', 'accounts', '--updates-fraction', '1.5');
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const impossible = await lakelet('generate', 'accounts', '--rows', '10', '--batch-rows', '100', '--out', join(tmp.dir, 'x'));
    expect(impossible.code).toBe(1);
    expect(impossible.stderr).toMatch(/^lakelet: synthetic batch 1: 50 updates\/deletes need as many distinct existing keys, but only 10 exist/);
  });
});
