// `npm run demo:gcp` (`lakelet demo --gcp`): starts its own fake-gcs-server, runs seed 000's job on
// gs:// with --profile gcp, prints what happened, and stops the emulator (issue 10, point 5).
// It also starts bqemulator and runs the same files through the same lakelet.yml with
// --profile gcp-bigquery; both targets must hold the rows computed from the files (issue 11, point 6).
// Without bqemulator (and without CI) the demo is run without Python and must say so and still pass.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
import { sqlString } from '../../src/adapters/compute/sql.ts';
import { rowsDigest } from '../../src/dev/gcp-demo.ts';
import { accounts } from '../../src/dev/synthetic/index.ts';
import { bqEmulatorAvailable, bqEmulatorVenv } from '../support/bigquery-emulator.ts';
import { lakelet } from '../support/cli.ts';
import { fakeGcsAvailable, fakeGcsBinary } from '../support/gcs-emulator.ts';
import { requirePeer } from '../support/peers.ts';
import { tempDir } from '../support/temp.ts';

const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);
const bqMode = requirePeer('bqemulator', bqEmulatorAvailable);

describe.skipIf(gcsMode === 'skip')('lakelet demo --gcp', () => {
  let tmp: { dir: string; cleanup: () => void } | undefined;
  afterEach(() => tmp?.cleanup());

  it('uploads seed 000 files, merges them on gs:// (Delta) and in BigQuery by profile only, archives, quarantines the broken one, and stops the emulators', async () => {
    tmp = tempDir('lakelet-demo-gcp-');
    const dir = join(tmp.dir, 'demo');
    // Whatever the caller's environment says, the demo talks to its own emulators only. Without
    // bqemulator here: no Python (and no venv) for it, so the demo neither installs it nor fails.
    const bigquery = bqMode === 'run';
    const bqEnv = bigquery ? { LAKELET_BQEMULATOR_VENV: bqEmulatorVenv } : { LAKELET_BQEMULATOR_VENV: join(tmp.dir, 'no-venv'), PYTHON: join(tmp.dir, 'no-python3') };
    const run = await lakelet(['demo', '--gcp', '--accounts', '200', '--dir', dir], {
      env: { LAKELET_FAKE_GCS_SERVER: fakeGcsBinary, STORAGE_EMULATOR_HOST: 'http://127.0.0.1:9', BIGQUERY_EMULATOR_HOST: 'http://127.0.0.1:9', ...bqEnv },
    });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const out = run.stdout;

    // One batch per uploaded file, as the Cloud Function took one object per event.
    const summary = /lakelet run --profile gcp: 4 batches, 4 files: 3 staged, 3 merged, 1 quarantined, 0 duplicates; rows: (\d+) staged, \d+ collapsed by dedup, \d+ inserted, (\d+) updated, (\d+) deleted by markers, 0 rejected/.exec(out);
    expect(summary, out).not.toBeNull();

    // The target holds exactly the newest version of every key that was not deleted (an oracle
    // over the generated files, which stay in <dir>/generated).
    const generated = readdirSync(join(dir, 'generated')).filter((f) => /^accounts-b\d+\.csv$/.test(f)).map((f) => join(dir, 'generated', f));
    expect(generated).toHaveLength(3);
    const compute = await openCompute();
    let expected: number;
    let digest: string;
    let total: number;
    try {
      const files = `read_csv([${generated.map(sqlString).join(', ')}], union_by_name = true)`;
      const rows = await compute.query(
        `SELECT ${accounts.columns.join(', ')} FROM (SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY last_modified DESC) AS nth FROM ${files}) WHERE nth = 1 AND op IS DISTINCT FROM 'D'`,
      );
      expected = rows.length;
      digest = rowsDigest(rows, accounts.columns);
      expect(rowsDigest(rows.slice(1), accounts.columns)).not.toBe(digest);
      total = Number((await compute.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${files}`))[0].n);
    } finally {
      compute.close();
    }
    // Every generated row staged; the incremental files both updated and deleted accounts.
    expect(Number(summary![1])).toBe(total);
    expect(Number(summary![2])).toBeGreaterThan(0);
    expect(Number(summary![3])).toBeGreaterThan(0);
    expect(out).toContain(`target gs://lakelet-demo-lake/tables/accounts: ${expected} rows (rows digest ${digest})`);
    expect(out).toContain('stage table after the MERGE: 0 rows');
    expect(out).toContain('uploads left in gs://lakelet-demo-uploads/accounts/: 0');

    // Archived objects, listed from the emulator: each file once, under <yyyy>/<mm>/<dd>/<stamp>-<id>/.
    const archived = [...out.matchAll(/^(\d{4}\/\d{2}\/\d{2}\/\d{8}T\d{9}Z-[0-9a-f]+\/(accounts-[\w-]+\.csv(?:\.error\.json)?))\s/gm)].map((m) => m[2]);
    expect(archived.sort()).toEqual(['accounts-b0000.csv', 'accounts-b0001.csv', 'accounts-b0002.csv', 'accounts-broken.csv', 'accounts-broken.csv.error.json']);
    expect(out).toMatch(/accounts-broken\.csv\s+quarantined\s+0\s+-\s+csv: 1 of 2 records is bad/);

    // The emulator it started is gone.
    const endpoint = /STORAGE_EMULATOR_HOST=(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1];
    expect(out).toContain('GCS emulator stopped');
    await expect(fetch(`${endpoint}/storage/v1/b`)).rejects.toThrow();

    if (!bigquery) {
      expect(out).toMatch(/^WARNING: no BigQuery part: Python is missing .*Running the Cloud Storage \(Delta\) part only\.$/m);
      expect(out).not.toContain('--profile gcp-bigquery:');
      return;
    }
    // The same files by profile only, the tables in BigQuery: the same batches, the same rows.
    expect(out).toMatch(/lakelet run --profile gcp-bigquery: 4 batches, 4 files: 3 staged, 3 merged, 1 quarantined, 0 duplicates; rows: \d+ staged/);
    expect(out).toContain(`BigQuery target lakelet-demo.lakelet_demo.tables_accounts: ${expected} rows (rows digest ${digest})`);
    expect(out).toMatch(/accounts-broken\.csv\s+quarantined\s+0\s+-\s+csv: 1 of 2 records is bad[^\n]*\n\n+Delta \(--profile gcp\) and BigQuery \(--profile gcp-bigquery\) targets: equal/);
    const bqEndpoint = /BIGQUERY_EMULATOR_HOST=(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1];
    expect(out).toContain('BigQuery emulator stopped');
    await expect(fetch(`${bqEndpoint}/readyz`)).rejects.toThrow();
  });
});
