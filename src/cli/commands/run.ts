import { Option, type Command } from 'commander';
import { loadConfig } from '../../pipeline/config.ts';
import { PipelineRunner, type RunSummary } from '../../pipeline/runner.ts';
import { streamReporter, type Reporter } from '../../pipeline/reporter.ts';
import { commaList, printJson } from '../options.ts';
import { formatTable, plural } from '../output/table-format.ts';

export interface PipelineCliOptions {
  config: string;
  pipeline?: string[];
  logFormat?: 'json' | 'text';
  json?: boolean;
  quiet?: boolean;
}

/** The options `run` and `watch` share. */
export function pipelineOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'the pipeline definition', 'lakelet.yml')
    .option('-p, --pipeline <names>', 'run only these pipelines (comma-separated)', commaList)
    .addOption(new Option('--log-format <format>', 'progress events on stderr: text, or one JSON object per line (default: text on a terminal, json otherwise)').choices(['json', 'text']))
    .option('-q, --quiet', 'no progress events, only warnings and errors')
    .option('--json', 'print the summary as JSON on stdout');
}

export function reporterFor(options: PipelineCliOptions): Reporter {
  const format = options.logFormat ?? (process.stderr.isTTY ? 'text' : 'json');
  return streamReporter({ format, level: options.quiet ? 'warn' : 'info' });
}

export function printSummary(summary: RunSummary, options: PipelineCliOptions, label: string): void {
  if (options.json) {
    printJson(summary);
    return;
  }
  const t = summary.totals;
  const parts = [`${plural(t.files, 'file')}`, `${t.staged} staged`, `${t.quarantined} quarantined`, `${plural(t.duplicates, 'duplicate')}`];
  process.stdout.write(
    `${label}: ${plural(t.batches, 'batch', 'batches')}${t.recovered ? ` (${t.recovered} recovered)` : ''}, ${parts.join(', ')}; ` +
      `rows: ${t.rowsStaged} staged, ${t.rowsInserted} inserted, ${t.rowsUpdated} updated, ${t.rowsDeleted} deleted` +
      `${t.rowsRejected ? `, ${t.rowsRejected} rejected (null key)` : ''}; ${(t.ms / 1000).toFixed(1)} s\n`,
  );
  if (summary.pipelines.length > 0) {
    const rows = summary.pipelines.map((p) => [p.pipeline, String(p.batches), String(p.files), String(p.quarantined), String(p.duplicates), String(p.rowsStaged), String(p.rowsInserted), String(p.rowsUpdated), String(p.rowsDeleted)]);
    process.stdout.write(formatTable(['pipeline', 'batches', 'files', 'quarantined', 'duplicates', 'staged', 'inserted', 'updated', 'deleted'], rows) + '\n');
  }
}

export function registerRun(program: Command): void {
  const cmd = program
    .command('run')
    .summary('run the pipelines once over the files already landed (backfill), then exit')
    .description(
      'Load every file waiting in the landing folders of lakelet.yml: stage it, archive it, and MERGE it into the target, ' +
        'exactly once. Batches an earlier run left unfinished (a crash) are finished first. Bad files go to quarantine ' +
        'with an .error.json beside them; the run goes on.',
    )
    .option('--once', 'process what is there and exit (the default; `lakelet watch` keeps running)');
  pipelineOptions(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet run --once
  $ lakelet run --once -c pipelines/lakelet.yml --pipeline accounts --json`,
    )
    .action(async (options: PipelineCliOptions) => {
      const config = loadConfig(options.config);
      const runner = await PipelineRunner.open(config, { reporter: reporterFor(options), ...(options.pipeline ? { only: options.pipeline } : {}) });
      let summary: RunSummary;
      try {
        summary = await runner.runAll();
      } finally {
        await runner.close();
      }
      printSummary(summary, options, 'lakelet run');
    });
}
