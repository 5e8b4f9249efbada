import { ensureBqEmulator, startBqEmulator, type RunningBqEmulator } from '../../dev/bigquery-emulator.ts';
import { ensureFakeGcsBinary, startFakeGcsServer, type RunningFakeGcs } from '../../dev/fake-gcs.ts';
import { GCP_DEMO_BIGQUERY, GCP_DEMO_BUCKETS, runGcpDemo, type GcpDemoResult } from '../../dev/gcp-demo.ts';
import { CliError } from '../errors.ts';
import { formatTable, humanBytes } from '../output/table-format.ts';
import { streamReporter } from '../output/stream-reporter.ts';
import { printSummary } from './run.ts';

/**
 * `npm run demo:gcp` (`lakelet demo --gcp`): seed 000 on Cloud Storage, against a GCS emulator
 * this command starts (fake-gcs-server, built first when missing) and stops. STORAGE_EMULATOR_HOST
 * is set to it for the run, so nothing reaches a real project whatever the machine's credentials.
 *
 * It also starts the BigQuery emulator (bqemulator, installed first when missing) and runs the same
 * files through the same lakelet.yml with --profile gcp-bigquery, whose tables are in BigQuery
 * (BIGQUERY_EMULATOR_HOST set likewise), and shows that both targets hold the same rows. Without
 * Python there is no bqemulator: a warning says so and the Cloud Storage part runs alone.
 */
export async function demoGcp(options: { dir: string; accounts: number }): Promise<void> {
  const out = process.stdout;
  const say = (line: string) => out.write(`${line}\n`);
  const dir = options.dir;
  const binary = ensureFakeGcsBinary(say);
  const bq = ensureBqEmulator(say);
  if ('missing' in bq) say(`WARNING: no BigQuery part: ${bq.missing}. Running the Cloud Storage (Delta) part only.`);

  let gcs: RunningFakeGcs | undefined;
  let bqe: RunningBqEmulator | undefined;
  const saved = { STORAGE_EMULATOR_HOST: process.env.STORAGE_EMULATOR_HOST, BIGQUERY_EMULATOR_HOST: process.env.BIGQUERY_EMULATOR_HOST };
  let stopping: Promise<void> | undefined;
  // Once, from the finally or from a signal, whichever comes first.
  const stop = () =>
    (stopping ??= (async () => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await Promise.all([
        gcs?.stop().then(() => say('GCS emulator stopped (its in-memory buckets are gone).')),
        bqe?.stop().then(() => say('BigQuery emulator stopped (its in-memory dataset is gone).')),
      ]);
    })());
  // Ctrl-C (or a kill) mid-run: the emulators are children of this process and must not outlive it.
  const onSignal = (signal: NodeJS.Signals) => {
    say(`\n${signal}: stopping the emulators`);
    void stop().finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : 15)));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    say(`starting the GCS emulator (${binary}, in memory, loopback)`);
    gcs = await startFakeGcsServer(binary);
    process.env.STORAGE_EMULATOR_HOST = gcs.endpoint;
    say(`  STORAGE_EMULATOR_HOST=${gcs.endpoint}`);
    if ('binary' in bq) {
      say(`starting the BigQuery emulator (${bq.binary}, project ${GCP_DEMO_BIGQUERY.project}, in memory, loopback)`);
      bqe = await startBqEmulator(bq.binary, GCP_DEMO_BIGQUERY.project);
      process.env.BIGQUERY_EMULATOR_HOST = bqe.endpoint;
      say(`  BIGQUERY_EMULATOR_HOST=${bqe.endpoint}`);
    }
    for (const bucket of Object.values(GCP_DEMO_BUCKETS)) await gcs.createBucket(bucket);
    say(`  buckets: ${Object.values(GCP_DEMO_BUCKETS).map((b) => `gs://${b}`).join(', ')}\n`);
    const result = await runGcpDemo({ dir, accounts: options.accounts, say, reporter: streamReporter({ format: 'text', level: 'error' }), bigquery: bqe !== undefined });
    printDelta(result, say);
    if (result.bigquery) printBigQuery(result, say);
    say(`\nthe same lakelet.yml runs locally too: lakelet run --once -c ${result.config}`);
    if (result.bigquery && !result.bigquery.equal) {
      throw new CliError(`the BigQuery target's rows differ from the Delta target's (they must be equal): ${result.bigquery.differences.join('; ')}`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stop();
  }
}

function printDelta(result: GcpDemoResult, say: (line: string) => void): void {
  printSummary(result.summary, { config: result.config }, 'lakelet run --profile gcp');
  say(`\ntarget ${result.target.location}: ${result.target.rows} rows (rows digest ${result.target.digest}); the latest changes:`);
  say(rowsTable(result.target.latest));
  say(`stage table after the MERGE: ${result.stageRows} rows (retain: truncate-after-merge, as seed 000 drops its staging table)`);
  say(`uploads left in gs://${GCP_DEMO_BUCKETS.uploads}/accounts/: ${result.landingLeft.length}`);
  say(`\narchived in gs://${GCP_DEMO_BUCKETS.archive}/accounts/ (dated prefix per batch):`);
  say(formatTable(['object', 'size'], result.archived.map((o) => [o.key, humanBytes(o.size)]), { maxCellWidth: 100 }));
  say(`\nquarantined in gs://${GCP_DEMO_BUCKETS.lake}/quarantine/accounts/:`);
  say(formatTable(['object', 'size'], result.quarantined.map((o) => [o.key, humanBytes(o.size)]), { maxCellWidth: 100 }));
  say('\ningestion log (gs://' + `${GCP_DEMO_BUCKETS.lake}/state/ingestion_log):`);
  say(logTable(result.log));
}

function printBigQuery(result: GcpDemoResult, say: (line: string) => void): void {
  const bq = result.bigquery!;
  say('');
  printSummary(bq.summary, { config: result.config }, 'lakelet run --profile gcp-bigquery');
  say(`\nBigQuery target ${bq.target.table}: ${bq.target.rows} rows (rows digest ${bq.target.digest}); the latest changes:`);
  say(rowsTable(bq.target.latest));
  say(`archived from gs://${GCP_DEMO_BUCKETS.uploads}/accounts-bigquery/: ${bq.archived} objects; quarantined: ${bq.quarantined.map((o) => o.key).join(', ') || 'none'}`);
  say(`\ningestion log (BigQuery table of ${GCP_DEMO_BIGQUERY.project}.${GCP_DEMO_BIGQUERY.dataset}):`);
  say(logTable(bq.log));
  say(
    bq.equal
      ? `\nDelta (--profile gcp) and BigQuery (--profile gcp-bigquery) targets: equal (${bq.target.rows} rows, every column)`
      : `\nDelta (--profile gcp) and BigQuery (--profile gcp-bigquery) targets: NOT equal:\n  ${bq.differences.join('\n  ')}`,
  );
}

function rowsTable(rows: Record<string, unknown>[]): string {
  return formatTable(Object.keys(rows[0] ?? {}), rows.map((r) => Object.values(r).map((v) => (v === null ? null : String(v)))));
}

function logTable(log: Record<string, unknown>[]): string {
  return formatTable(
    ['batch', 'file', 'status', 'records', 'target v', 'error'],
    [...log].sort((a, b) => Number(a.batch) - Number(b.batch)).map((e) => [String(e.batch), String(e.file_name), String(e.status), String(e.records), e.target_version === null || e.target_version === undefined ? '-' : String(e.target_version), e.error ? String(e.error).slice(0, 60) : '']),
  );
}
