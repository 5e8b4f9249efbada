import type { Command } from 'commander';
import { openCompute } from '../../adapters/compute/open-compute.ts';
import { systemClock } from '../../adapters/clock.ts';
import { loadConfig } from '../../pipeline/config.ts';
import { openIngestionLog } from '../../pipeline/ingestion-log.ts';
import { quarantinedFiles, requeueFiles, selectFiles, type QuarantinedFile } from '../../pipeline/requeue.ts';
import { CliError, usageError } from '../errors.ts';
import { commaList, printJson } from '../options.ts';
import { formatTable, plural } from '../output/table-format.ts';
import { profileOption } from '../profile-option.ts';
import { assertKnownPipelines } from '../pipeline-names.ts';

interface RequeueOptions {
  config: string;
  profile?: string;
  pipeline?: string[];
  all?: boolean;
  json?: boolean;
}

export function registerRequeue(program: Command): void {
  const cmd = program
    .command('requeue')
    .summary('move quarantined files back to landing for another try')
    .description(
      'Moves quarantined files back to their landing folder (never overwriting a landed file), so that the next ' +
        '`lakelet run --once` or a running `lakelet watch` takes them again: after fixing the cause (lakelet.yml, the ' +
        "file's producer). Their .error.json stays in quarantine, noting the requeue, and the ingestion log gets a " +
        "'requeued' row: 'lakelet status --file <name>' shows each file's history.",
    )
    .argument('[files...]', 'quarantined files: a path in the quarantine folder, or the name the file had in landing')
    .option('--all', 'every quarantined file (of the pipelines chosen with -p)')
    .option('-c, --config <file>', 'the pipeline definition', 'lakelet.yml');
  profileOption(cmd)
    .option('-p, --pipeline <names>', 'only these pipelines (comma-separated)', commaList)
    .option('--json', 'print what was requeued as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet requeue --all
  $ lakelet requeue bad.csv -p accounts
  $ lakelet requeue quarantine/2024/05/17/20240517T083000000Z-1a2b3c4d/bad.csv`,
    )
    .action(async (files: string[], options: RequeueOptions) => {
      if (!options.all && files.length === 0) throw usageError('name the quarantined files to requeue, or --all');
      if (options.all && files.length > 0) throw usageError('give either files or --all, not both');
      const config = loadConfig(options.config, { profile: options.profile });
      assertKnownPipelines(config, options.pipeline);
      const pipelines = config.pipelines.filter((p) => !options.pipeline || options.pipeline.includes(p.name));
      const all: QuarantinedFile[] = [];
      for (const p of pipelines) all.push(...(await quarantinedFiles(p)));
      const chosen = options.all ? all : selectFiles(all, files);
      const compute = await openCompute();
      const log = await openIngestionLog(config, compute, systemClock);
      let outcomes;
      try {
        outcomes = await requeueFiles(chosen, log, systemClock);
      } finally {
        log.close();
        compute.close();
      }
      const done = outcomes.filter((o) => o.requeued);
      const refused = outcomes.filter((o) => !o.requeued);
      if (options.json) {
        printJson({ requeued: done, refused });
      } else {
        if (done.length) process.stdout.write(formatTable(['pipeline', 'batch', 'file', 'from', 'to'], done.map((o) => [o.pipeline, String(o.batch), o.fixedInPlace ? `${o.file} (as edited in quarantine)` : o.file, o.from, o.to])) + '\n');
        process.stdout.write(
          `lakelet requeue: ${plural(done.length, 'file')} moved back to landing${done.length ? "; the next 'lakelet run --once' (or a running watch) takes them" : ''}.\n`,
        );
      }
      if (refused.length) throw new CliError(`${plural(refused.length, 'file')} left in quarantine: ${refused.map((o) => `${o.from}: ${o.refused}`).join('; ')}`);
    });
}
