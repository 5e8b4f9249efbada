import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFileSchema, loadConfig } from '../../src/pipeline/config.ts';
import { STARTER_CONFIG } from '../../src/pipeline/starter-config.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import { lakelet, lakeletOk } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

/** `lakelet init` (a commented starter lakelet.yml that runs) and `lakelet --version`. */
let tmp: { dir: string; cleanup: () => void } | undefined;
afterEach(() => tmp?.cleanup());

/** Every key name the lakelet.yml schema knows, at any depth (not the names of user-keyed maps). */
function schemaKeys(schema: unknown, out = new Set<string>()): Set<string> {
  const s = schema as { shape?: Record<string, unknown>; _zod: { def: Record<string, any> } };
  const def = s._zod.def;
  switch (def.type) {
    case 'default':
    case 'optional':
    case 'nullable':
    case 'prefault':
      return schemaKeys(def.innerType, out);
    case 'pipe':
      return schemaKeys(def.in, out);
    case 'object':
      for (const [k, v] of Object.entries(s.shape!)) {
        out.add(k);
        schemaKeys(v, out);
      }
      return out;
    case 'union':
      for (const o of def.options) schemaKeys(o, out);
      return out;
    case 'record':
      return schemaKeys(def.valueType, out);
    default:
      return out;
  }
}

describe('lakelet init', () => {
  it('the starter shows every key of the lakelet.yml schema (set, or commented out)', () => {
    const keys = [...schemaKeys(configFileSchema)];
    expect(keys.length).toBeGreaterThan(40);
    const missing = keys.filter((k) => !new RegExp(`(^\\s*(#\\s*)?|[{,]\\s*)${k}:`, 'm').test(STARTER_CONFIG));
    expect(missing).toEqual([]);
    // Each top-level key of a pipeline carries a comment on its line.
    const pipelineLines = STARTER_CONFIG.split('\n').filter((l) => /^ {4}[a-zA-Z]+:/.test(l));
    expect(pipelineLines.length).toBeGreaterThan(15);
    expect(pipelineLines.filter((l) => !l.includes('#'))).toEqual([]);
  });

  it('writes lakelet.yml that loadConfig accepts and that runs `lakelet generate orders` data into a CDF-enabled target', async () => {
    tmp = tempDir('lakelet-init-');
    const dir = join(tmp.dir, 'project');
    const init = await lakeletOk(['init', dir]);
    expect(init.stdout).toMatch(/wrote .*lakelet\.yml/);
    const file = join(dir, 'lakelet.yml');
    expect(readFileSync(file, 'utf8')).toBe(STARTER_CONFIG);
    const config = loadConfig(file);
    const orders = config.pipelines[0];
    expect(orders).toMatchObject({ name: 'orders', key: ['tracking_num'], orderBy: 'updated_at', targetProperties: { 'delta.enableChangeDataFeed': 'true' }, stageRetain: 7 * 86_400_000 });

    const generated = JSON.parse((await lakeletOk(['generate', 'orders', '--rows', '500', '--files', '3', '--out', orders.landing, '--json'])).stdout) as { keysIssued: number };
    expect(generated.keysIssued).toBe(550);
    const past = new Date(Date.now() - 3_600_000);
    for (const f of readdirSync(orders.landing)) utimesSync(join(orders.landing, f), past, past);
    const run = await lakelet(['run', '--once', '-c', file, '--json', '--quiet']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).totals).toMatchObject({ files: 3, quarantined: 0 });
    expect(readdirSync(orders.landing)).toEqual([]);

    const target = await DeltaTable.forPath(orders.target!);
    try {
      expect((await target.snapshot()).configuration).toMatchObject({ 'delta.enableChangeDataFeed': 'true' });
      expect(await target.read()).toHaveLength(generated.keysIssued);
    } finally {
      target.close();
    }
    const changes = await lakeletOk(['changes', orders.target!, '--from-version', '0', '--format', 'ndjson']);
    const rows = changes.stdout.trim().split('\n').map((l) => JSON.parse(l) as { _change_type: string });
    expect(rows).toHaveLength(generated.keysIssued);
    expect(new Set(rows.map((r) => r._change_type))).toEqual(new Set(['insert']));
  }, 60_000);

  it('refuses to overwrite an existing lakelet.yml without --force', async () => {
    tmp = tempDir('lakelet-init-');
    const file = join(tmp.dir, 'lakelet.yml');
    writeFileSync(file, '# mine\n');
    const refused = await lakelet(['init'], { cwd: tmp.dir });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/lakelet\.yml already exists; nothing was written\. Use --force/);
    expect(readFileSync(file, 'utf8')).toBe('# mine\n');
    await lakeletOk(['init', '--force'], { cwd: tmp.dir });
    expect(readFileSync(file, 'utf8')).toBe(STARTER_CONFIG);
  });
});

describe('lakelet --version', () => {
  it("prints package.json's version", async () => {
    const { version } = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await lakeletOk([flag]);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });
});
