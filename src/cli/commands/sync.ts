import { Option, type Command } from 'commander';
import { openCompute } from '../../adapters/compute/open-compute.ts';
import { systemClock } from '../../adapters/clock.ts';
import { loadConfig } from '../../pipeline/config.ts';
import { syncSources, type SyncSummary } from '../../pipeline/sync/sync-runner.ts';
import { openWarehouse } from '../../warehouse/open-warehouse.ts';
import { CliError, usageError } from '../errors.ts';
import { printJson } from '../options.ts';
import { everyInterval, runScheduled } from '../scheduled.ts';
import { formatTable } from '../output/table-format.ts';
import { streamReporter } from '../output/stream-reporter.ts';
import { profileFlag } from '../profile-option.ts';

interface SyncCliOptions {
  config: string;
  profile?: string;
  source?: string;
  table?: string;
  full?: boolean;
  every?: string;
  json?: boolean;
  quiet?: boolean;
  logFormat?: 'json' | 'text';
}

export function registerSync(program: Command): void {
  program
    .command('sync')
    .summary('sync database sources (sources: in lakelet.yml) into their target tables, incrementally')
    .description(
      'For each table of each source: read the rows changed since the watermark committed with the target (a lookback window ' +
        'reaches back for late commits), stage them, MERGE them into the target and commit the new watermark in the same commit. ' +
        'The first run reads everything. A source that cannot be reached, or a table that fails, is reported and the others go on.',
    )
    .option('-c, --config <file>', 'the pipeline definition', 'lakelet.yml')
    .addOption(profileFlag())
    .option('--source <name>', 'only this source')
    .option('--table <name>', 'only this table (as the summary names it)')
    .option('--full', 'read every row again (the MERGE leaves unchanged rows alone); the watermark moves on as usual')
    .option('--every <interval>', "keep running: a sync every interval (e.g. 1h, 15m), in the foreground; a run still going makes the next one skip")
    .addOption(new Option('--log-format <format>', 'progress events on stderr').choices(['json', 'text']))
    .option('-q, --quiet', 'no progress events, only warnings and errors')
    .option('--json', 'print the summary as JSON on stdout')
    .addHelpText('after', `
Examples:
  $ lakelet sync
  $ lakelet sync --source shop --table orders --full
  $ lakelet sync --every 1h

Exit codes: 0 every table synced (or skipped as reported), 1 a source or table failed (the others still synced), 2 wrong usage.`)
    .action(async (options: SyncCliOptions) => {
      const config = loadConfig(options.config, { profile: options.profile });
      if (config.sources.length === 0) throw usageError(`${config.file} has no sources: to sync; add one (see README, "Database sources")`);
      const intervalMs = everyInterval(options.every);
      const reporter = streamReporter({ format: options.logFormat ?? (process.stderr.isTTY ? 'text' : 'json'), level: options.quiet ? 'warn' : 'info' });
      const compute = await openCompute();
      const warehouse = openWarehouse(config, { compute, clock: systemClock });
      let failed = false;
      const once = async () => {
        const summary = await syncSources(config, { warehouse, compute, clock: systemClock, reporter }, { ...(options.source ? { source: options.source } : {}), ...(options.table ? { table: options.table } : {}), full: options.full ?? false });
        printSyncSummary(summary, options);
        failed ||= summary.failed.length > 0;
      };
      try {
        if (intervalMs === undefined) {
          await once();
        } else {
          // A run's failed tables are in its summary; the exit code (on SIGINT/SIGTERM) says whether any run had one.
          await runScheduled(intervalMs, once, reporter, 'sync');
        }
      } finally {
        warehouse.close();
        compute.close();
      }
      if (failed) throw new CliError('some tables did not sync', { reported: true });
    });
}

function printSyncSummary(summary: SyncSummary, options: SyncCliOptions): void {
  if (options.json) {
    printJson(summary);
    return;
  }
  const rows = summary.synced.map((t) => [t.source, t.table, t.mode, String(t.rowsRead), String(t.pages), String(t.inserted), String(t.updated), String(t.deleted), t.watermark?.value ?? '-', t.recovered ? 'yes' : '', t.drift.join('; ')]);
  for (const s of summary.skipped) rows.push([s.source, s.table, 'skipped', '', '', '', '', '', '', '', s.reason]);
  for (const f of summary.failed) rows.push([f.source, f.table ?? '*', 'FAILED', '', '', '', '', '', '', '', f.error]);
  process.stdout.write(`lakelet sync: ${summary.synced.length} synced, ${summary.skipped.length} skipped, ${summary.failed.length} failed\n`);
  if (rows.length) process.stdout.write(formatTable(['source', 'table', 'mode', 'rows read', 'pages', 'inserted', 'updated', 'deleted', 'watermark', 'recovered', 'note'], rows) + '\n');
  // The table cuts long notes: a failure's whole message (what to do is at its end) below it.
  for (const f of summary.failed) process.stdout.write(`FAILED ${f.source}${f.table ? `.${f.table}` : ''}: ${f.error}\n`);
}
