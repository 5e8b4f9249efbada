import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { Compute } from '../../src/adapters/compute/compute.ts';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
import { sqlString } from '../../src/adapters/compute/sql.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import { loadConfig, type PipelineConfig } from '../../src/pipeline/config.ts';
import { lakelet, lakeletOk } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

/**
 * The repository's own lakelet.yml, every pipeline of it, run by the real CLI on generated data
 * (`lakelet generate orders|accounts`) and the samples in data/samples (the JSON and NDJSON
 * pipelines have no generator). The yml is copied as is into a temp folder: its paths are relative
 * to the file, so everything lands and is written there. Each target must hold exactly the rows an
 * independent computation over the landed files expects, with no file quarantined.
 */
const REPO = process.cwd();
let tmp: { dir: string; cleanup: () => void };
let compute: Compute;
const CONFIG = () => join(tmp.dir, 'lakelet.yml');

beforeAll(async () => {
  tmp = tempDir('lakelet-samples-');
  compute = await openCompute();
});
afterAll(() => {
  compute?.close();
  tmp?.cleanup();
});

async function one<T>(sql: string): Promise<T> {
  return (await compute.query<T>(sql))[0];
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

function copySamples(folder: string, landing: string): string[] {
  mkdirSync(landing, { recursive: true });
  return filesUnder(join(REPO, 'data/samples', folder))
    .filter((f) => !f.endsWith('.md'))
    .map((f) => {
      const to = join(landing, basename(f));
      copyFileSync(f, to);
      return to;
    });
}

/** What lands in a pipeline's folder, and how many rows its target (or stage) must hold. */
interface Feed {
  files: string[];
  /** Expected rows of the target (stage, when the pipeline has no target). */
  rows: number;
}

/** Keys (distinct, by regex) in one top-level list of the pseudo-JSON etl.json sample. */
function idsIn(text: string, list: string, field: string): Set<string> {
  const start = text.indexOf(`'${list}'`);
  const rest = text.slice(start + list.length + 2);
  const end = rest.search(/'[a-z_]+':\s*\[/);
  const section = end < 0 ? rest : rest.slice(0, end);
  return new Set([...section.matchAll(new RegExp(`'${field}':\\s*(\\d+)`, 'g'))].map((m) => m[1]));
}

const FEEDERS: Record<string, (p: PipelineConfig) => Promise<Feed>> = {
  // Seed 002: generated shipments, re-sent with later statuses; the newest row per tracking_num wins.
  // `--pipeline` writes into the pipeline's landing folder, in its format.
  orders: async (p) => {
    await lakeletOk(['generate', 'orders', '--rows', '2000', '--files', '4', '--batch-rows', '300', '--updates-fraction', '0.6', '--pipeline', p.name, '-c', CONFIG(), '--seed', '11']);
    const files = filesUnder(p.landing);
    const n = await one<{ n: bigint }>(`SELECT count(DISTINCT tracking_num) AS n FROM read_csv([${files.map(sqlString).join(', ')}])`);
    return { files, rows: Number(n.n) };
  },
  // Seed 000: generated accounts with deletes (op = 'D'): the latest row per account decides.
  accounts: async (p) => {
    await lakeletOk(['generate', 'accounts', '--rows', '2000', '--files', '4', '--batch-rows', '300', '--delete-fraction', '0.1', '--pipeline', p.name, '-c', CONFIG(), '--seed', '12']);
    const files = filesUnder(p.landing);
    const n = await one<{ n: bigint; deletes: bigint }>(
      `SELECT count(*) FILTER (WHERE op <> 'D') AS n, (SELECT count(*) FROM read_csv([${files.map(sqlString).join(', ')}]) WHERE op = 'D') AS deletes FROM ` +
        `(SELECT arg_max(op, last_modified) AS op FROM read_csv([${files.map(sqlString).join(', ')}]) GROUP BY account_number)`,
    );
    expect(Number(n.deletes)).toBeGreaterThan(0);
    return { files, rows: Number(n.n) };
  },
  // Seed 001: one pseudo-JSON document, fanned out to two pipelines by json.path.
  customers: async (p) => {
    const files = existsSync(join(p.landing, 'etl.json')) ? [join(p.landing, 'etl.json')] : copySamples('etl', p.landing);
    return { files, rows: idsIn(readFileSync(files[0], 'utf8'), 'customers', 'customer_id').size };
  },
  subscriptions: async (p) => {
    const files = existsSync(join(p.landing, 'etl.json')) ? [join(p.landing, 'etl.json')] : copySamples('etl', p.landing);
    return { files, rows: idsIn(readFileSync(files[0], 'utf8'), 'subscriptions', 'subscription_id').size };
  },
  // Seed 004: uploads staged only; every line is a record.
  uploads: async (p) => {
    const files = copySamples('uploads', p.landing);
    const rows = files.reduce((a, f) => a + readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).length, 0);
    return { files, rows };
  },
};

describe("the repository's lakelet.yml on generated data", () => {
  it('every pipeline merges every landed file, none quarantined, with the target rows an independent count expects', async () => {
    copyFileSync(join(REPO, 'lakelet.yml'), join(tmp.dir, 'lakelet.yml'));
    const config = loadConfig(join(tmp.dir, 'lakelet.yml'));
    for (const p of config.pipelines) expect(relative(tmp.dir, p.landing).startsWith('..'), `${p.name} lands outside the copy`).toBe(false);
    // A pipeline added to lakelet.yml needs a feeder here: this list must be the yml's.
    expect(Object.keys(FEEDERS).sort()).toEqual(config.pipelines.map((p) => p.name).sort());

    const feeds = new Map<string, Feed>();
    for (const p of config.pipelines) feeds.set(p.name, await FEEDERS[p.name](p));
    // Landed well before the run: whatever arrival window the pipelines use, the files are complete.
    const past = new Date(Date.now() - 3_600_000);
    for (const feed of feeds.values()) for (const f of feed.files) utimesSync(f, past, past);

    const run = await lakelet(['run', '--once', '-c', join(tmp.dir, 'lakelet.yml'), '--json', '--quiet']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const summary = JSON.parse(run.stdout) as { pipelines: { pipeline: string; files: number; quarantined: number }[] };

    for (const p of config.pipelines) {
      const feed = feeds.get(p.name)!;
      const s = summary.pipelines.find((x) => x.pipeline === p.name)!;
      expect({ pipeline: p.name, files: s.files, quarantined: s.quarantined }).toEqual({ pipeline: p.name, files: feed.files.length, quarantined: 0 });
      expect(filesUnder(p.quarantine), `${p.name} quarantined files`).toEqual([]);
      // Every landed file left the landing folder for the archive.
      expect(filesUnder(p.landing), `${p.name} landing`).toEqual([]);
      const archived = filesUnder(p.archive).map((f) => basename(f));
      for (const f of feed.files) expect(archived, `${p.name} archive`).toContain(basename(f));

      const scan = await (await DeltaTable.forPath(p.target ?? p.stage, { compute })).scan();
      const n = await one<{ n: bigint }>(`SELECT count(*) AS n FROM (${scan.sql})`).finally(() => scan.release());
      expect({ pipeline: p.name, rows: Number(n.n) }).toEqual({ pipeline: p.name, rows: feed.rows });
    }
    // The generated orders carry the orderBy column the pipeline sorts versions by.
    const orders = config.pipelines.find((p) => p.name === 'orders')!;
    const target = await DeltaTable.forPath(orders.target!, { compute });
    expect((await target.snapshot()).schema.fields.map((f) => f.name)).toContain(orders.orderBy);
  }, 120_000);
});
