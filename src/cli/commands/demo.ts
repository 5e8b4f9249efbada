import { InputError } from '../../errors/lakelet-error.ts';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../pipeline/config.ts';
import { writeDemoWorkspace } from '../../dev/demo.ts';
import { openIngestionLog } from '../../pipeline/ingestion-log.ts';
import { PipelineRunner } from '../../pipeline/runner.ts';
import { streamReporter } from '../output/stream-reporter.ts';
import { DeltaTable } from '../../engine/table.ts';
import { openCompute } from '../../adapters/compute/open-compute.ts';
import { systemClock } from '../../adapters/clock.ts';
import { formatTable } from '../output/table-format.ts';
import { printSummary } from './run.ts';
import { demoGcp } from './demo-gcp.ts';

interface DemoOptions {
  dir?: string;
  accounts: string;
  gcp?: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .summary('a self-contained tour: generate account files, run the pipeline, show the results')
    .description(
      'Creates a fresh workspace (a temp folder, or --dir), writes a lakelet.yml and seed-000-style account files ' +
        '(an initial load, incremental files with updates and a delete marker, one broken file), runs the pipeline, ' +
        'then delivers the initial file again to show duplicate detection. Prints the summary, target rows and the ingestion log.',
    )
    .option('--dir <dir>', 'where to create the workspace (must be new or empty); default: a new temp folder')
    .option('--accounts <n>', 'accounts in the initial file', '500')
    .option('--gcp', 'the same job on Cloud Storage (npm run demo:gcp): starts a GCS and a BigQuery emulator, uploads the files to a bucket, runs the pipeline with --profile gcp (Delta on gs://) and --profile gcp-bigquery (tables in BigQuery), compares the targets, stops the emulators')
    .action(async (options: DemoOptions) => {
      const dir = options.dir ? resolve(options.dir) : mkdtempSync(join(tmpdir(), 'lakelet-demo-'));
      if (options.dir) {
        let existing: string[] = [];
        try {
          existing = readdirSync(dir);
        } catch {
          // new
        }
        if (existing.length) throw new InputError(`${dir} is not empty; give a new folder to --dir`);
      }
      if (options.gcp) return demoGcp({ dir, accounts: Number(options.accounts) });
      const demo = writeDemoWorkspace(dir, Number(options.accounts));
      const out = process.stdout;
      out.write(`lakelet demo workspace: ${dir}\n  landed ${demo.files.length} files in ${demo.landing}: ${demo.files.join(', ')}\n\n`);
      const config = loadConfig(demo.config, { profile: 'local' }); // its own workspace, whatever LAKELET_PROFILE says
      const reporter = streamReporter({ format: 'text', level: 'error' });

      out.write('1) lakelet run --once\n');
      let runner = await PipelineRunner.open(config, { reporter });
      try {
        printSummary(await runner.runAll(), { config: demo.config }, 'lakelet run');
      } finally {
        await runner.close();
      }

      out.write('\n2) the initial file is delivered again; lakelet run --once\n');
      const archived = findFile(join(dir, 'archive', 'accounts'), 'accounts_initial.csv');
      if (archived) copyFileSync(archived, join(demo.landing, 'accounts_initial.csv'));
      runner = await PipelineRunner.open(config, { reporter });
      try {
        printSummary(await runner.runAll(), { config: demo.config }, 'lakelet run');
      } finally {
        await runner.close();
      }

      const compute = await openCompute();
      try {
        const target = await DeltaTable.forPath(join(dir, 'tables', 'accounts'), { compute });
        const count = await compute.query<{ n: string }>(`SELECT count(*) AS n FROM (${(await target.scan()).sql})`);
        const rows = await target.read({ orderBy: 'last_modified DESC, account_number', limit: 5 });
        out.write(`\ntarget tables/accounts: ${count[0].n} rows; the latest changes:\n`);
        out.write(formatTable(Object.keys(rows[0] ?? {}), rows.map((r) => Object.values(r).map((v) => (v === null ? null : String(v))))) + '\n');
        const log = await openIngestionLog(config, compute, systemClock);
        const entries = await log.read();
        out.write(`\ningestion log (${config.ingestionLog}):\n`);
        out.write(
          formatTable(
            ['batch', 'file', 'status', 'records', 'target v', 'error'],
            entries.map((e) => [String(e.batch), String(e.file_name), String(e.status), String(e.records), e.target_version === null ? '-' : String(e.target_version), e.error ? String(e.error) : '']),
          ) + '\n',
        );
        // The table cuts long cells: each error whole below it.
        for (const e of entries.filter((x) => x.error)) out.write(`${String(e.file_name)}: ${String(e.error)}\n`);
        out.write(`\nlook around: ls ${dir}/archive ${dir}/quarantine; lakelet status -c ${demo.config}; lakelet history ${join(dir, 'tables', 'accounts')}\n`);
      } finally {
        compute.close();
      }
    });
}

function findFile(dir: string, name: string): string | undefined {
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name === name) return join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
  }
  return undefined;
}
