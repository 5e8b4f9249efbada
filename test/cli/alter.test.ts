import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lakelet, lakeletOk } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

/** Table properties from the command line: `write --property k=v` on create, `alter --property k=v` after. */
let tmp: { dir: string; cleanup: () => void } | undefined;
afterEach(() => tmp?.cleanup());

function setup() {
  tmp = tempDir('lakelet-alter-');
  const data = join(tmp.dir, 'rows.csv');
  writeFileSync(data, 'id,v\n1,a\n2,b\n');
  return { table: join(tmp.dir, 't'), data };
}

async function describeJson(table: string): Promise<{ properties: Record<string, string>; protocol: { minWriterVersion: number } }> {
  return JSON.parse((await lakeletOk(['describe', table, '--json'])).stdout);
}

describe('lakelet write --property / lakelet alter', () => {
  it('write --property (repeatable) creates the table with those properties; changes then works', async () => {
    const { table, data } = setup();
    await lakeletOk(['write', table, '--from', data, '--property', 'delta.enableChangeDataFeed=true', '--property', 'comment=a=b']);
    const d = await describeJson(table);
    expect(d.properties).toEqual({ 'delta.enableChangeDataFeed': 'true', comment: 'a=b' });
    expect(d.protocol.minWriterVersion).toBe(4);
    await lakeletOk(['update', table, '--set', "v = 'z'", '--where', 'id = 1']);
    const changes = await lakeletOk(['changes', table, '--from-version', '1', '--format', 'ndjson']);
    expect(changes.stdout.trim().split('\n').map((l) => JSON.parse(l)._change_type).sort()).toEqual(['update_postimage', 'update_preimage']);
  });

  it('alter --property sets properties on an existing table; a second identical call commits nothing', async () => {
    const { table, data } = setup();
    await lakeletOk(['write', table, '--from', data]);
    const refused = await lakelet(['changes', table, '--from-version', '0']);
    expect(refused.code).not.toBe(0);

    const r = await lakeletOk(['alter', table, '--property', 'delta.enableChangeDataFeed=true', '--property', 'delta.checkpointInterval=20']);
    expect(r.stdout).toMatch(/^set 2 properties of .* in version 1:\n  delta\.enableChangeDataFeed: \(unset\) -> true\n  delta\.checkpointInterval: \(unset\) -> 20\n$/);
    expect((await describeJson(table)).properties).toEqual({ 'delta.enableChangeDataFeed': 'true', 'delta.checkpointInterval': '20' });
    const history = JSON.parse((await lakeletOk(['history', table, '--json'])).stdout) as { version: number; operation: string }[];
    expect(history.find((h) => h.version === 1)?.operation).toBe('SET TBLPROPERTIES');

    const again = await lakeletOk(['alter', table, '--property', 'delta.enableChangeDataFeed=true', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ version: 1, changed: {}, skipped: 'every property already has that value' });

    await lakeletOk(['write', table, '--from', data]);
    const changes = await lakeletOk(['changes', table, '--from-version', '2', '--format', 'ndjson']);
    expect(changes.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('bad input: no key=value, a non-boolean for a boolean property, a table that does not exist', async () => {
    const { table, data } = setup();
    const usage = await lakelet(['write', table, '--from', data, '--property', 'novalue']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/expected key=value/);
    await lakeletOk(['write', table, '--from', data]);
    const bad = await lakelet(['alter', table, '--property', 'delta.appendOnly=maybe']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/table property delta\.appendOnly must be true or false, not 'maybe'/);
    const missing = await lakelet(['alter', join(table, 'nope'), '--property', 'a=b']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/is not a Delta table/);
    const noProperty = await lakelet(['alter', table]);
    expect(noProperty.code).toBe(2);
  });
});
