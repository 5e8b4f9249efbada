import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Compute } from '../adapters/compute/compute.ts';
import { openCompute } from '../adapters/compute/open-compute.ts';
import { systemClock } from '../adapters/clock.ts';
import { openStore } from '../adapters/storage/open-store.ts';
import type { ObjectMeta } from '../adapters/storage/object-store.ts';
import { DeltaTable } from '../engine/table.ts';
import { InputError } from '../errors/lakelet-error.ts';
import { loadConfig, type LakeletConfig } from '../pipeline/config.ts';
import { openIngestionLog } from '../pipeline/ingestion-log.ts';
import type { Reporter } from '../pipeline/reporter.ts';
import { PipelineRunner, type RunSummary } from '../pipeline/runner.ts';
import { tableIdFor } from '../warehouse/bigquery/bigquery-warehouse.ts';
import { BigQueryClient } from '../warehouse/bigquery/client.ts';
import { accounts, generate } from './synthetic/index.ts';
import { uploadFiles } from './upload.ts';

/**
 * Seed 000's job on Cloud Storage, end to end, against an emulator: account files are uploaded to
 * an uploads bucket, the pipeline (run with `--profile gcp` of a lakelet.yml that also runs
 * locally) stages them into a Delta table on gs://, MERGEs them into the accounts table (delete
 * markers applied, the newest last_modified wins), empties the stage (seed 000 drops its staging
 * table), and moves each file to an archive bucket under a unique dated prefix; a broken file goes
 * to quarantine with its .error.json. Everything lives in three buckets; nothing is on local disk
 * but lakelet.yml and the generated files before their upload.
 *
 * With `bigquery` (and BIGQUERY_EMULATOR_HOST naming a BigQuery emulator), the same files are
 * uploaded once more, to a landing prefix of their own, and the same lakelet.yml runs them with
 * `--profile gcp-bigquery`: its stage and target are tables of a BigQuery dataset instead of Delta
 * tables on gs://. Only the profile differs, so the two targets' rows must be equal (issue 11).
 */
export const GCP_DEMO_BUCKETS = { uploads: 'lakelet-demo-uploads', archive: 'lakelet-demo-archive', lake: 'lakelet-demo-lake' } as const;
/** The BigQuery project and dataset of profiles.gcp-bigquery (the emulator serves this project). */
export const GCP_DEMO_BIGQUERY = { project: 'lakelet-demo', dataset: 'lakelet_demo', location: 'US' } as const;

export function gcpDemoConfig(): string {
  const b = GCP_DEMO_BUCKETS;
  const q = GCP_DEMO_BIGQUERY;
  return `# lakelet GCP demo: seed 000 (files uploaded to a bucket -> staging -> MERGE -> archive bucket).
# The pipeline is written once, for local folders; profiles.gcp moves every location to Cloud Storage.
#   lakelet run --once                 # local folders next to this file
#   lakelet run --once --profile gcp   # the same pipeline on gs:// (credentials: ADC, or STORAGE_EMULATOR_HOST)
#   lakelet run --once --profile gcp-bigquery   # the same pipeline, its tables in BigQuery (ADC, or BIGQUERY_EMULATOR_HOST)
stateDir: ./state
pipelines:
  accounts:
    landing: ./landing/accounts
    pattern: "*.csv"
    format: csv
    # Seed 000 drops its staging table after each MERGE: merged batches leave the stage at once.
    stage: { path: ./tables/stage_accounts, retain: truncate-after-merge }
    target: ./tables/accounts
    key: customer_id
    orderBy: last_modified
    deletes: { column: op, values: [D] }
    archive: ./archive/accounts
    quarantine: ./quarantine/accounts
    batch: { maxFiles: 1 }   # one file per batch, as the Cloud Function took one upload per event
profiles:
  gcp:
    root: gs://${b.lake}                        # tables, state, ingestion log and quarantine
    pipelines:
      accounts:
        landing: gs://${b.uploads}/accounts     # where the files are uploaded
        archive: gs://${b.archive}/accounts     # <yyyy>/<mm>/<dd>/<stamp>-<id>/<file>
  # The same pipeline with its stage and target in BigQuery instead of Delta: only places change.
  # (Landing, archive and quarantine have prefixes of their own here only because the demo runs
  # both profiles side by side on the same files; a real deployment uses one profile.)
  gcp-bigquery:
    warehouse: bigquery                           # tables/accounts -> table tables_accounts of the dataset
    bigquery: { project: ${q.project}, dataset: ${q.dataset}, location: ${q.location} }
    stateDir: gs://${b.lake}/state-bigquery   # manifests and lock; the ingestion log is a table of the dataset
    pipelines:
      accounts:
        landing: gs://${b.uploads}/accounts-bigquery
        archive: gs://${b.archive}/accounts-bigquery
        quarantine: gs://${b.lake}/quarantine-bigquery/accounts
`;
}

export interface GcpDemoOptions {
  /** A new or empty local folder: lakelet.yml and the generated files. */
  dir: string;
  /** Customers in the initial load (default 1000). */
  accounts?: number;
  reporter?: Reporter;
  say?: (line: string) => void;
  /** Also run the files with --profile gcp-bigquery (needs BIGQUERY_EMULATOR_HOST). */
  bigquery?: boolean;
}

export interface GcpDemoBigQueryResult {
  summary: RunSummary;
  target: { table: string; rows: number; latest: Record<string, unknown>[]; digest: string };
  log: Record<string, unknown>[];
  archived: number;
  quarantined: ObjectMeta[];
  /** Whether the BigQuery target holds exactly the Delta target's rows (compared as text, by key). */
  equal: boolean;
  /** When not equal: the first differences, readable. */
  differences: string[];
}

export interface GcpDemoResult {
  config: string;
  uploaded: string[];
  summary: RunSummary;
  /** digest: rowsDigest of all its rows, to compare with BigQuery's and with an expectation. */
  target: { location: string; rows: number; latest: Record<string, unknown>[]; digest: string };
  stageRows: number;
  landingLeft: string[];
  archived: ObjectMeta[];
  quarantined: ObjectMeta[];
  log: Record<string, unknown>[];
  bigquery?: GcpDemoBigQueryResult;
}

/**
 * Runs the demo against the emulator named by STORAGE_EMULATOR_HOST, whose buckets
 * (GCP_DEMO_BUCKETS) exist. Refuses to run without it: the demo never writes to a real project.
 */
export async function runGcpDemo(options: GcpDemoOptions): Promise<GcpDemoResult> {
  if (!process.env.STORAGE_EMULATOR_HOST) throw new InputError('the GCP demo runs against a GCS emulator only: set STORAGE_EMULATOR_HOST (npm run demo:gcp starts one).');
  if (options.bigquery && !process.env.BIGQUERY_EMULATOR_HOST) throw new InputError('the GCP demo runs against a BigQuery emulator only: set BIGQUERY_EMULATOR_HOST (npm run demo:gcp starts one).');
  const say = options.say ?? (() => {});
  const b = GCP_DEMO_BUCKETS;
  mkdirSync(options.dir, { recursive: true });
  const configFile = join(options.dir, 'lakelet.yml');
  writeFileSync(configFile, gcpDemoConfig());

  // Seed 000's files: an initial load, then two incremental files (updates, new accounts, delete markers).
  const generated = join(options.dir, 'generated');
  const compute = await openCompute();
  try {
    const made = await generate(compute, { dataset: accounts, rows: options.accounts ?? 1000, batches: 2, updatesFraction: 0.5, deleteFraction: 0.05, format: 'csv', seed: 42, out: generated });
    const paths = made.files.map((f) => f.path);
    // A broken delivery: one row with a field too many.
    const [header, first] = readFileSync(paths[0], 'utf8').split('\n');
    const broken = join(generated, 'accounts-broken.csv');
    writeFileSync(broken, `${header}\n${first}\n${first},EXTRA\n`);
    paths.push(broken);
    say(`uploading ${paths.length} files to gs://${b.uploads}/accounts/`);
    const uploaded = await uploadFiles(paths, generated, `gs://${b.uploads}/accounts`);

    say(`lakelet run --once --profile gcp -c ${configFile}`);
    const config = loadConfig(configFile, { profile: 'gcp' });
    const summary = await runProfile(config, options.reporter);

    const p = config.pipelines[0];
    const count = async (location: string) => {
      const t = await DeltaTable.forPath(location, { compute });
      try {
        return Number((await compute.query<{ n: bigint | number }>(`SELECT count(*) AS n FROM (${(await t.scan()).sql})`))[0].n);
      } finally {
        t.close();
      }
    };
    const target = await DeltaTable.forPath(p.target!, { compute });
    let latest: Record<string, unknown>[];
    let targetRows: Record<string, unknown>[];
    try {
      latest = await target.read({ orderBy: 'last_modified DESC, customer_id', limit: 5 });
      targetRows = await target.read({ orderBy: 'customer_id' });
    } finally {
      target.close();
    }
    const log = await openIngestionLog(config, compute, systemClock);
    let entries: Record<string, unknown>[];
    try {
      entries = await log.read();
    } finally {
      log.close();
    }
    let bigquery: GcpDemoBigQueryResult | undefined;
    if (options.bigquery) bigquery = await runBigQueryProfile(configFile, paths, generated, targetRows, { compute, say, reporter: options.reporter });
    return {
      config: configFile,
      uploaded,
      summary,
      target: { location: p.target!, rows: targetRows.length, latest, digest: rowsDigest(targetRows, accounts.columns) },
      stageRows: await count(p.stage),
      landingLeft: (await openStore(p.landing).list('')).map((o) => o.key),
      archived: await openStore(p.archive).list(''),
      quarantined: await openStore(p.quarantine).list(''),
      log: entries,
      ...(bigquery ? { bigquery } : {}),
    };
  } finally {
    compute.close();
  }
}

async function runProfile(config: LakeletConfig, reporter: Reporter | undefined): Promise<RunSummary> {
  const runner = await PipelineRunner.open(config, reporter ? { reporter } : {});
  try {
    return await runner.runAll();
  } finally {
    await runner.close();
  }
}

/** The same files through profiles.gcp-bigquery, and its target compared with the Delta target's rows. */
async function runBigQueryProfile(
  configFile: string,
  paths: string[],
  generated: string,
  deltaRows: Record<string, unknown>[],
  env: { compute: Compute; say: (line: string) => void; reporter?: Reporter },
): Promise<GcpDemoBigQueryResult> {
  const config = loadConfig(configFile, { profile: 'gcp-bigquery' });
  const p = config.pipelines[0];
  env.say(`\nuploading the same ${paths.length} files to ${p.landing}/`);
  await uploadFiles(paths, generated, p.landing);
  env.say(`lakelet run --once --profile gcp-bigquery -c ${configFile}`);
  const summary = await runProfile(config, env.reporter);

  const client = BigQueryClient.open(config.bigquery!);
  const table = tableIdFor(p.target!, dirname(config.file));
  // The Delta target's columns, in its order: the comparison is of the same columns.
  const columns = Object.keys(deltaRows[0] ?? { customer_id: null });
  const cols = columns.map((c) => `\`${c}\``).join(', ');
  const rows = await client.query(`SELECT ${cols} FROM ${client.table(table)} ORDER BY customer_id`, 'reading the target');
  const latest = await client.query(`SELECT ${cols} FROM ${client.table(table)} ORDER BY last_modified DESC, customer_id LIMIT 5`, 'reading the target');
  const differences = compareRows(deltaRows, rows, columns);

  const log = await openIngestionLog(config, env.compute, systemClock);
  let entries: Record<string, unknown>[];
  try {
    entries = await log.read();
  } finally {
    log.close();
  }
  return {
    summary,
    target: { table: `${config.bigquery!.project}.${config.bigquery!.dataset}.${table}`, rows: rows.length, latest, digest: rowsDigest(rows, accounts.columns) },
    log: entries,
    archived: (await openStore(p.archive).list('')).length,
    quarantined: await openStore(p.quarantine).list(''),
    equal: differences.length === 0,
    differences,
  };
}

/**
 * Row by row (both ordered by the key), each value as text in one canonical form: the two engines
 * hand back the same value in different JS shapes (an INT64 as a string, a DATETIME with a 'T').
 */
function compareRows(delta: Record<string, unknown>[], bigquery: Record<string, unknown>[], columns: string[]): string[] {
  const out: string[] = [];
  if (delta.length !== bigquery.length) out.push(`${delta.length} rows in the Delta target, ${bigquery.length} in BigQuery`);
  for (let i = 0; i < Math.min(delta.length, bigquery.length) && out.length < 5; i++) {
    for (const c of columns) {
      const [d, q] = [canonical(delta[i][c]), canonical(bigquery[i][c])];
      if (d !== q) out.push(`row ${i + 1} (customer_id ${canonical(delta[i].customer_id)}), ${c}: Delta ${d ?? 'NULL'}, BigQuery ${q ?? 'NULL'}`);
    }
  }
  return out;
}

/**
 * A fingerprint of a table's rows, whatever engine read them and in which order: sha256 over the
 * sorted lines of canonical values of `columns` (first 16 hex digits). Equal rows, equal digest.
 */
export function rowsDigest(rows: Record<string, unknown>[], columns: readonly string[]): string {
  const lines = rows.map((r) => columns.map((c) => canonical(r[c]) ?? '\\N').join('\t')).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
}

function canonical(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  const text = typeof value === 'object' && 'value' in (value as object) ? String((value as { value: unknown }).value) : String(value);
  // A timestamp in either engine's form (space or T, with or without a zone, any fraction): as an instant in UTC.
  const ts = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(text);
  if (ts) {
    const zone = !ts[3] || ts[3] === 'Z' ? 'Z' : ts[3].length === 3 ? `${ts[3]}:00` : ts[3];
    const ms = Date.parse(`${ts[1]}T${ts[2].slice(0, 12)}${zone}`);
    if (!Number.isNaN(ms)) return new Date(ms).toISOString();
  }
  if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(text)) return String(Number(text));
  return text;
}
