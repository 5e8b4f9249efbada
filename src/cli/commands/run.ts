import { Option, type Command } from 'commander';
import { loadConfig, type PipelineConfig } from '../../pipeline/config.ts';
import { incomplete, PipelineRunner, type RunSummary } from '../../pipeline/runner.ts';
import type { Reporter } from '../../pipeline/reporter.ts';
import { streamReporter } from '../output/stream-reporter.ts';
import { CliError, EXIT_CODES_HELP, EXIT_INCOMPLETE, usageError } from '../errors.ts';
import { everyInterval, runScheduled } from '../scheduled.ts';
import { commaList, printJson } from '../options.ts';
import { formatTable, plural } from '../output/table-format.ts';
import { profileOption } from '../profile-option.ts';
import { assertKnownPipelines } from '../pipeline-names.ts';

export interface PipelineCliOptions {
  config: string;
  profile?: string;
  pipeline?: string[];
  logFormat?: 'json' | 'text';
  json?: boolean;
  quiet?: boolean;
}

/** The options `run` and `watch` share. */
export function pipelineOptions(cmd: Command): Command {
  return profileOption(cmd.option('-c, --config <file>', 'the pipeline definition', 'lakelet.yml'))
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
  const parts = [`${t.staged} staged`, `${t.merged} merged`, `${t.quarantined} quarantined`, `${plural(t.duplicates, 'duplicate')}`];
  process.stdout.write(
    `${label}: ${plural(t.batches, 'batch', 'batches')}${t.recovered ? ` (${t.recovered} recovered)` : ''}, ${plural(t.files, 'file')}: ${parts.join(', ')}; ` +
      `rows: ${t.rowsStaged} staged, ${t.rowsDeduplicated} collapsed by dedup, ${t.rowsInserted} inserted, ${t.rowsUpdated} updated, ` +
      `${t.rowsDeleted} deleted by markers, ${t.rowsRejected} rejected; ${(t.ms / 1000).toFixed(1)} s\n`,
  );
  if (summary.pipelines.length > 0) {
    const rows = summary.pipelines.map((p) =>
      [p.pipeline, p.batches, p.files, p.staged, p.merged, p.quarantined, p.duplicates, p.rowsStaged, p.rowsDeduplicated, p.rowsInserted, p.rowsUpdated, p.rowsDeleted, p.rowsRejected].map(String),
    );
    const headers = ['pipeline', 'batches', 'files', 'staged', 'merged', 'quarantined', 'duplicates', 'rows staged', 'deduplicated', 'inserted', 'updated', 'deleted', 'rejected'];
    process.stdout.write(formatTable(headers, rows) + '\n');
  }
}

/** What the summary's words mean; printed by `run --help` and `watch --help`. */
export const SUMMARY_HELP = `
Summary:
  files are counted by what became of them: staged (rows appended to the stage table), merged (staged
  and then merged into the target; pipelines with a target), quarantined, duplicates (same name and
  bytes as a file already applied). 'lakelet status' uses the same words.
  rows: staged (appended to the stage table), collapsed by dedup (several rows of one key in a batch:
  the latest wins), inserted/updated in the target, deleted by markers, rejected (not loaded: a NULL
  key or a bad record).
${EXIT_CODES_HELP}`;

/**
 * Exit code 3 when the run finished but left something out. What and where to look is reported
 * as a warning event per pipeline (so `--log-format json` stays one JSON object per line); the
 * summary itself is already printed.
 */
export function failIfIncomplete(summary: RunSummary, pipelines: PipelineConfig[], reporter: Reporter): void {
  if (!incomplete(summary.totals)) return;
  for (const p of summary.pipelines) {
    if (!p.quarantined && !p.rowsRejected) continue;
    reporter.event('warn', 'run.incomplete', {
      pipeline: p.pipeline,
      quarantined: p.quarantined,
      rejected: p.rowsRejected,
      quarantine: pipelines.find((c) => c.name === p.pipeline)?.quarantine,
      hint: incompleteHint(p.quarantined, p.rowsRejected),
    });
  }
  throw new CliError('not everything went in', { exitCode: EXIT_INCOMPLETE, reported: true });
}

/**
 * What to do about what a run left out. A quarantined file goes back whole with requeue; a
 * rejected record does not (its file went in without it), so requeue would find nothing to move.
 */
function incompleteHint(quarantined: number, rejected: number): string {
  const hints: string[] = [];
  if (quarantined > 0) hints.push("each quarantined file has a <name>.error.json beside it saying why: fix the cause, then 'lakelet requeue <name>' (or --all) takes it again");
  if (rejected > 0) {
    hints.push(
      'rejected records were left out of files that otherwise went in: bad ones are in <name>.bad-records.ndjson in the quarantine folder (with line and error), ' +
        'rows without a key only in the stage table; fix those records and land them as a new file',
    );
  }
  return `${hints.join('; ')}. 'lakelet status' shows each file`;
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
    .option('--once', 'process what is there and exit (the default; `lakelet watch` keeps running)')
    .option('--every <interval>', 'keep running: a run every interval (e.g. 1h, 15m), in the foreground, a summary per run; a run still going makes the next one skip');
  pipelineOptions(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet run --once
  $ lakelet run --once -c pipelines/lakelet.yml --pipeline accounts --json
  $ lakelet run --once --profile gcp        # the same pipelines on the locations of profiles.gcp
  $ lakelet run --every 1h          (seed 001's hourly schedule; stop with Ctrl-C)
${SUMMARY_HELP}
  With --every the exit code (on SIGINT/SIGTERM) is the worst any run had.`,
    )
    .action(async (options: PipelineCliOptions & { once?: boolean; every?: string }) => {
      const intervalMs = everyInterval(options.every);
      if (intervalMs !== undefined && options.once) throw usageError('--once and --every contradict each other: give one');
      const config = loadConfig(options.config, { profile: options.profile });
      assertKnownPipelines(config, options.pipeline);
      const reporter = reporterFor(options);
      if (intervalMs !== undefined) {
        const runner = await PipelineRunner.open(config, { reporter, ...(options.pipeline ? { only: options.pipeline } : {}) });
        try {
          await runScheduled(
            intervalMs,
            async (run) => {
              const summary = await runner.runAll();
              printSummary(summary, options, `lakelet run (run ${run})`);
              failIfIncomplete(summary, runner.pipelines, reporter);
            },
            reporter,
            'run',
          );
        } finally {
          await runner.close();
        }
        return;
      }
      const runner = await PipelineRunner.open(config, { reporter, ...(options.pipeline ? { only: options.pipeline } : {}) });
      let summary: RunSummary;
      try {
        summary = await runner.runAll();
      } finally {
        await runner.close();
      }
      printSummary(summary, options, 'lakelet run');
      failIfIncomplete(summary, runner.pipelines, reporter);
    });
}
