import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { openCompute } from '../../adapters/compute/open-compute.ts';
import { DATASETS, GENERATE_DEFAULTS, OUTPUT_FORMATS, generate, type GenerateResult, type OutputFormat, type SyntheticDataset } from '../../dev/synthetic/index.ts';
import { fitToPipeline } from '../../dev/synthetic/pipeline-fit.ts';
import { loadConfig } from '../../pipeline/config.ts';
import { InputError } from '../../engine/errors.ts';
import { isUri, printJson } from '../options.ts';
import { profileFlag } from '../profile-option.ts';
import { assertKnownPipelines } from '../pipeline-names.ts';
import { usageError } from '../errors.ts';
import { uploadFiles } from '../../dev/upload.ts';
import { formatTable, humanBytes, plural } from '../output/table-format.ts';

interface GenerateCliOptions {
  rows: number;
  files?: number;
  batchRows?: number;
  initialFiles: number;
  initial: boolean;
  updatesFraction: number;
  deleteFraction: number;
  skew: number;
  hotFraction: number;
  order: 'sorted' | 'unsorted';
  initialOrder: 'sorted' | 'unsorted';
  opColumn?: boolean;
  format: OutputFormat;
  seed: number;
  out?: string;
  pipeline?: string;
  config: string;
  profile?: string;
  memoryLimit?: string;
  json?: boolean;
}

/** "1000000", "1_000_000", "1e6", "250k", "10M" → a whole number. */
export function parseCount(value: string): number {
  const m = /^\s*(\d+(?:[._]\d+)*(?:\.\d+)?(?:e\d+)?)\s*([kmb])?\s*$/i.exec(value);
  if (!m) throw new InvalidArgumentError('expected a whole number such as 1000000, 1e6, 250k or 10M.');
  const base = Number(m[1].replace(/_/g, ''));
  const scale = { k: 1e3, m: 1e6, b: 1e9 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'b'] ?? 1;
  const n = base * scale;
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number (0 or more).');
  return n;
}

function parsePositiveCount(value: string): number {
  const n = parseCount(value);
  if (n === 0) throw new InvalidArgumentError('expected a number of 1 or more.');
  return n;
}

function parseFraction(value: string): number {
  const n = Number(value);
  if (!/^\s*\d*\.?\d+(e-?\d+)?\s*$/i.test(value) || !(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a fraction between 0 and 1, e.g. 0.25.');
  return n;
}

function parseSkew(value: string): number {
  const n = Number(value);
  if (!/^\s*\d*\.?\d+\s*$/.test(value) || !(n >= 0 && n <= 10)) throw new InvalidArgumentError('expected a zipf exponent between 0 (uniform) and 10, e.g. 1.1.');
  return n;
}

function parseSeed(value: string): number {
  if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError('expected a whole number.');
  return Number(value);
}

const EXAMPLES: Record<string, string> = {
  accounts: `
Examples:
  # seed 000: an initial load of 1M accounts and one incremental file (half updates, half new accounts)
  $ lakelet generate accounts --rows 1M --updates-fraction 0.5 --out landing/accounts

  # into lakelet.yml's accounts pipeline, with delete markers it understands (deletes: { column: op, values: [D] })
  $ lakelet generate accounts --rows 100k --files 3 --delete-fraction 0.05 --pipeline accounts

  # the initial load and 10 incremental files of 50k rows, 5% deletes (op column = D), updates skewed to hot accounts
  $ lakelet generate accounts --rows 10M --files 11 --batch-rows 50k --delete-fraction 0.05 --skew 1.1 --format parquet

  # only incremental files against an existing table of 1M accounts, updates within 10% of the key space
  $ lakelet generate accounts --rows 1M --no-initial --files 3 --hot-fraction 0.1 --format ndjson --seed 7`,
  orders: `
Examples:
  # seed 002: 500k shipments, then 5 files moving statuses on (70% updates, 30% new shipments)
  $ lakelet generate orders --rows 500k --files 6 --updates-fraction 0.7 --out landing/orders

  # a big initial load split into 8 Parquet files
  $ lakelet generate orders --rows 20M --initial-files 8 --files 8 --format parquet --out data/orders

  # straight into the landing folder of lakelet.yml's orders pipeline, checked to fit it; then load it
  $ lakelet generate orders --rows 100k --files 3 --pipeline orders && lakelet run --once`,
};

/**
 * How many incremental files to write: --files counts every file written, the initial load's too,
 * so `--files 3` writes three files (the initial load and two incremental ones), not four.
 */
function incrementalFiles(options: GenerateCliOptions): number {
  const initial = options.initial ? options.initialFiles : 0;
  if (options.files === undefined) return 1;
  if (options.files < initial) {
    throw new InputError(
      `--files ${options.files} is fewer than the ${plural(initial, 'file')} of the initial load (--initial-files ${options.initialFiles}); --files counts every file written: ask for at least ${initial}, or give --no-initial for incremental files only.`,
    );
  }
  return options.files - initial;
}

function addDatasetCommand(parent: Command, dataset: SyntheticDataset): void {
  parent
    .command(dataset.name)
    .summary(dataset.description)
    .description(
      `Generate ${dataset.description}: an initial load (keys 1..rows, one row per key) and incremental files that ` +
        `re-send existing keys with new values (--updates-fraction), delete some (--delete-fraction, op column 'D') and add new ` +
        `ones. Keys are unique within a file; '${dataset.key}' is the MERGE key and '${dataset.orderBy}' orders versions. ` +
        'Rows are computed inside DuckDB from hashes of the seed, so the same options and seed give byte-identical files. ' +
        'Files are named <dataset>-b<batch>[-p<part>].<ext> (b0000 is the initial load) and appear complete (written under a ' +
        'hidden name, then renamed), in batch order.',
    )
    .option('--rows <n>', 'rows of the initial load; also the number of existing keys the incremental files update', parseCount, GENERATE_DEFAULTS.rows)
    .option('--files <k>', 'files to write in all: the initial load\'s (see --initial-files), then incremental ones, one batch each (default: the initial load and one incremental file)', parseCount)
    .option('--batch-rows <n>', 'rows per incremental file (default: a tenth of --rows)', parseCount)
    .option('--updates-fraction <f>', 'share of each incremental file that updates existing keys', parseFraction, GENERATE_DEFAULTS.updatesFraction)
    .option('--delete-fraction <f>', "share of each incremental file that deletes existing keys (adds an op column: I, U or D)", parseFraction, GENERATE_DEFAULTS.deleteFraction)
    .option('--skew <s>', 'zipf-like exponent for which keys get updated: 0 uniform, 1+ a few hot keys again and again', parseSkew, GENERATE_DEFAULTS.skew)
    .option('--hot-fraction <f>', 'share of the key space updates come from (0.1: a sorted target sees ~10% of its files touched)', parseFraction, GENERATE_DEFAULTS.hotFraction)
    .addOption(new Option('--order <order>', 'row order of the incremental files').choices(['sorted', 'unsorted']).default(GENERATE_DEFAULTS.order))
    .addOption(new Option('--initial-order <order>', 'row order of the initial load').choices(['sorted', 'unsorted']).default(GENERATE_DEFAULTS.initialOrder))
    .option('--initial-files <k>', 'split the initial load into this many files', parsePositiveCount, GENERATE_DEFAULTS.initialFiles)
    .option('--no-initial', 'write only the incremental files (against --rows existing keys)')
    .option('--op-column', 'always add the op column (I new, U update, D delete)')
    .addOption(new Option('--format <format>', 'file format').choices([...OUTPUT_FORMATS]).default(GENERATE_DEFAULTS.format))
    .option('--seed <s>', 'random seed: the same seed gives byte-identical files', parseSeed, GENERATE_DEFAULTS.seed)
    .option('--out <dir>', `output folder (default: ./synthetic/${dataset.name}, or the --pipeline's landing folder)`)
    .option('--pipeline <name>', "write into this pipeline's landing folder, in its format, after checking that the files fit it (key, orderBy, pattern, deletes)")
    .option('-c, --config <file>', 'the lakelet.yml that defines --pipeline', 'lakelet.yml')
    .addOption(profileFlag())
    .option('--memory-limit <size>', "DuckDB memory limit, e.g. '2GB' (it spills to disk beyond it)")
    .option('--json', 'print the list of files as JSON')
    .addHelpText('after', EXAMPLES[dataset.name] ?? '')
    .action(async (options: GenerateCliOptions, command: Command) => {
      if (options.pipeline) {
        if (options.out) throw usageError('give either --out or --pipeline (which writes into the pipeline\'s landing folder), not both.');
        const config = loadConfig(options.config, { profile: options.profile });
        assertKnownPipelines(config, [options.pipeline]);
        const pipeline = config.pipelines.find((p) => p.name === options.pipeline)!;
        const explicitFormat = command.getOptionValueSource('format') === 'cli' ? options.format : undefined;
        const fit = fitToPipeline(dataset, pipeline, { format: explicitFormat, deletes: options.deleteFraction > 0, opColumn: options.opColumn === true, file: config.file });
        options.out = fit.out;
        options.format = fit.format;
      }
      // A gs:// folder (a landing under --profile gcp): written to a local temp folder by DuckDB, then uploaded in order.
      const remote = options.out !== undefined && isUri(options.out) ? options.out : undefined;
      const out = remote ? mkdtempSync(join(tmpdir(), 'lakelet-generate-')) : resolve(options.out ?? `synthetic/${dataset.name}`);
      const compute = await openCompute(options.memoryLimit ? { memoryLimit: options.memoryLimit } : {});
      const bar = process.stderr.isTTY && !options.json ? progressBar() : undefined;
      let result: GenerateResult;
      try {
        let rows = 0;
        result = await generate(compute, {
          dataset,
          rows: options.rows,
          initial: options.initial,
          initialFiles: options.initialFiles,
          initialOrder: options.initialOrder,
          batches: incrementalFiles(options),
          batchRows: options.batchRows,
          updatesFraction: options.updatesFraction,
          deleteFraction: options.deleteFraction,
          skew: options.skew,
          hotFraction: options.hotFraction,
          order: options.order,
          opColumn: options.opColumn,
          format: options.format,
          seed: options.seed,
          out,
          onPlan: (plan) => bar?.start(plan.rows, 0, { files: `0/${plan.files}` }),
          onFile: (file, done, total) => {
            rows += file.rows;
            bar?.update(rows, { files: `${done}/${total}` });
          },
        });
      } finally {
        bar?.stop();
        compute.close();
      }
      if (remote) {
        try {
          const keys = await uploadFiles(result.files.map((f) => f.path), out, remote);
          result = { ...result, files: result.files.map((f, i) => ({ ...f, path: `${remote.replace(/\/+$/, '')}/${keys[i]}` })) };
        } finally {
          rmSync(out, { recursive: true, force: true });
        }
      }
      if (options.json) {
        printJson(result);
        return;
      }
      const where = remote ?? (relative(process.cwd(), out) || '.');
      process.stdout.write(
        `wrote ${plural(result.files.length, 'file')} of ${dataset.name} (${plural(result.rows, 'row')}, ${humanBytes(result.bytes)}) to ${where} ` +
          `with seed ${result.seed}; keys 1..${result.keysIssued}\n`,
      );
      const shown = result.files.length > 20 ? [...result.files.slice(0, 10), undefined, ...result.files.slice(-5)] : result.files;
      const table = shown.map((f) =>
        f === undefined
          ? ['…', '', '', '', '', '', '']
          : [remote ? f.path.slice(remote.replace(/\/+$/, '').length + 1) : relative(out, f.path), f.batch === 0 ? 'initial' : String(f.batch), String(f.rows), String(f.inserts), String(f.updates), String(f.deletes), humanBytes(f.bytes)],
      );
      process.stdout.write(formatTable(['file', 'batch', 'rows', 'new', 'updates', 'deletes', 'size'], table) + '\n');
    });
}

function progressBar(): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    {
      format: 'generating {bar} {percentage}% | {value}/{total} rows | {files} files | {duration_formatted}',
      formatValue: (v, _options, type) => (type === 'value' || type === 'total' ? v.toLocaleString('en-US') : String(v)),
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
}

export function registerGenerate(program: Command): void {
  const cmd = program
    .command('generate')
    .summary('write synthetic data files (accounts, orders) for pipelines and benchmarks')
    .description(
      'Write deterministic synthetic data files: an initial load and incremental files with updates, deletes and new keys, ' +
        'as CSV, NDJSON or Parquet. Everything is generated inside DuckDB, so 100M rows take minutes, not hours.',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet generate accounts --rows 1M --updates-fraction 0.5 --files 3
  $ lakelet generate orders --rows 100k --files 10 --format parquet --seed 7
  $ lakelet generate accounts --help`,
    );
  for (const dataset of Object.values(DATASETS)) addDatasetCommand(cmd, dataset);
}
