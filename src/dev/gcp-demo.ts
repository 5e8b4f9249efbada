import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCompute } from '../adapters/compute/open-compute.ts';
import { systemClock } from '../adapters/clock.ts';
import { openStore } from '../adapters/storage/open-store.ts';
import type { ObjectMeta } from '../adapters/storage/object-store.ts';
import { DeltaTable } from '../engine/table.ts';
import { InputError } from '../errors/lakelet-error.ts';
import { loadConfig } from '../pipeline/config.ts';
import { openIngestionLog } from '../pipeline/ingestion-log.ts';
import type { Reporter } from '../pipeline/reporter.ts';
import { PipelineRunner, type RunSummary } from '../pipeline/runner.ts';
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
 */
export const GCP_DEMO_BUCKETS = { uploads: 'lakelet-demo-uploads', archive: 'lakelet-demo-archive', lake: 'lakelet-demo-lake' } as const;

export function gcpDemoConfig(): string {
  const b = GCP_DEMO_BUCKETS;
  return `# lakelet GCP demo: seed 000 (files uploaded to a bucket -> staging -> MERGE -> archive bucket).
# The pipeline is written once, for local folders; profiles.gcp moves every location to Cloud Storage.
#   lakelet run --once                 # local folders next to this file
#   lakelet run --once --profile gcp   # the same pipeline on gs:// (credentials: ADC, or STORAGE_EMULATOR_HOST)
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
`;
}

export interface GcpDemoOptions {
  /** A new or empty local folder: lakelet.yml and the generated files. */
  dir: string;
  /** Customers in the initial load (default 1000). */
  accounts?: number;
  reporter?: Reporter;
  say?: (line: string) => void;
}

export interface GcpDemoResult {
  config: string;
  uploaded: string[];
  summary: RunSummary;
  target: { location: string; rows: number; latest: Record<string, unknown>[] };
  stageRows: number;
  landingLeft: string[];
  archived: ObjectMeta[];
  quarantined: ObjectMeta[];
  log: Record<string, unknown>[];
}

/**
 * Runs the demo against the emulator named by STORAGE_EMULATOR_HOST, whose buckets
 * (GCP_DEMO_BUCKETS) exist. Refuses to run without it: the demo never writes to a real project.
 */
export async function runGcpDemo(options: GcpDemoOptions): Promise<GcpDemoResult> {
  if (!process.env.STORAGE_EMULATOR_HOST) throw new InputError('the GCP demo runs against a GCS emulator only: set STORAGE_EMULATOR_HOST (npm run demo:gcp starts one).');
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
    const runner = await PipelineRunner.open(config, options.reporter ? { reporter: options.reporter } : {});
    let summary: RunSummary;
    try {
      summary = await runner.runAll();
    } finally {
      await runner.close();
    }

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
    try {
      latest = await target.read({ orderBy: 'last_modified DESC, customer_id', limit: 5 });
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
    return {
      config: configFile,
      uploaded,
      summary,
      target: { location: p.target!, rows: await count(p.target!), latest },
      stageRows: await count(p.stage),
      landingLeft: (await openStore(p.landing).list('')).map((o) => o.key),
      archived: await openStore(p.archive).list(''),
      quarantined: await openStore(p.quarantine).list(''),
      log: entries,
    };
  } finally {
    compute.close();
  }
}
