import { ensureFakeGcsBinary, startFakeGcsServer } from '../../dev/fake-gcs.ts';
import { GCP_DEMO_BUCKETS, runGcpDemo } from '../../dev/gcp-demo.ts';
import { formatTable, humanBytes } from '../output/table-format.ts';
import { streamReporter } from '../output/stream-reporter.ts';
import { printSummary } from './run.ts';

/**
 * `npm run demo:gcp` (`lakelet demo --gcp`): seed 000 on Cloud Storage, against a GCS emulator
 * this command starts (fake-gcs-server, built first when missing) and stops. STORAGE_EMULATOR_HOST
 * is set to it for the run, so nothing reaches a real project whatever the machine's credentials.
 */
export async function demoGcp(options: { dir: string; accounts: number }): Promise<void> {
  const out = process.stdout;
  const say = (line: string) => out.write(`${line}\n`);
  const dir = options.dir;
  const binary = ensureFakeGcsBinary(say);
  say(`starting the GCS emulator (${binary}, in memory, loopback)`);
  const gcs = await startFakeGcsServer(binary);
  const saved = process.env.STORAGE_EMULATOR_HOST;
  process.env.STORAGE_EMULATOR_HOST = gcs.endpoint;
  try {
    say(`  STORAGE_EMULATOR_HOST=${gcs.endpoint}`);
    for (const bucket of Object.values(GCP_DEMO_BUCKETS)) await gcs.createBucket(bucket);
    say(`  buckets: ${Object.values(GCP_DEMO_BUCKETS).map((b) => `gs://${b}`).join(', ')}\n`);
    const result = await runGcpDemo({ dir, accounts: options.accounts, say, reporter: streamReporter({ format: 'text', level: 'error' }) });
    printSummary(result.summary, { config: result.config }, 'lakelet run --profile gcp');

    say(`\ntarget ${result.target.location}: ${result.target.rows} rows; the latest changes:`);
    const rows = result.target.latest;
    say(formatTable(Object.keys(rows[0] ?? {}), rows.map((r) => Object.values(r).map((v) => (v === null ? null : String(v))))));
    say(`stage table after the MERGE: ${result.stageRows} rows (retain: truncate-after-merge, as seed 000 drops its staging table)`);
    say(`uploads left in gs://${GCP_DEMO_BUCKETS.uploads}/accounts/: ${result.landingLeft.length}`);
    say(`\narchived in gs://${GCP_DEMO_BUCKETS.archive}/accounts/ (dated prefix per batch):`);
    say(formatTable(['object', 'size'], result.archived.map((o) => [o.key, humanBytes(o.size)]), { maxCellWidth: 100 }));
    say(`\nquarantined in gs://${GCP_DEMO_BUCKETS.lake}/quarantine/accounts/:`);
    say(formatTable(['object', 'size'], result.quarantined.map((o) => [o.key, humanBytes(o.size)]), { maxCellWidth: 100 }));
    say('\ningestion log (gs://' + `${GCP_DEMO_BUCKETS.lake}/state/ingestion_log):`);
    say(
      formatTable(
        ['batch', 'file', 'status', 'records', 'target v', 'error'],
        [...result.log].sort((a, b) => Number(a.batch) - Number(b.batch)).map((e) => [String(e.batch), String(e.file_name), String(e.status), String(e.records), e.target_version === null ? '-' : String(e.target_version), e.error ? String(e.error).slice(0, 60) : '']),
      ),
    );
    say(`\nthe same lakelet.yml runs locally too: lakelet run --once -c ${result.config}`);
  } finally {
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = saved;
    await gcs.stop();
    say('GCS emulator stopped (its in-memory buckets are gone).');
  }
}
