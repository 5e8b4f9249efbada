import type { Command } from 'commander';
import { packageVersion } from './version.ts';
import { CliError, EXIT_USAGE, errorDetail, errorLine, exitCodeOf, isBrokenPipe } from './errors.ts';

type Register = (program: Command) => void;

/**
 * Every command, in the order `lakelet --help` lists them, each loaded on demand: a start imports
 * only the module of the command it runs (and through it only the engine parts that command uses),
 * so `lakelet read` does not load the pipeline, and `--version` loads nothing.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  read: async () => (await import('./commands/read.ts')).registerRead,
  write: async () => (await import('./commands/write.ts')).registerWrite,
  alter: async () => (await import('./commands/alter.ts')).registerAlter,
  merge: async () => (await import('./commands/merge.ts')).registerMerge,
  history: async () => (await import('./commands/history.ts')).registerHistory,
  describe: async () => (await import('./commands/describe.ts')).registerDescribe,
  delete: async () => (await import('./commands/delete.ts')).registerDelete,
  update: async () => (await import('./commands/update.ts')).registerUpdate,
  optimize: async () => (await import('./commands/optimize.ts')).registerOptimize,
  vacuum: async () => (await import('./commands/vacuum.ts')).registerVacuum,
  restore: async () => (await import('./commands/restore.ts')).registerRestore,
  changes: async () => (await import('./commands/changes.ts')).registerChanges,
  run: async () => (await import('./commands/run.ts')).registerRun,
  watch: async () => (await import('./commands/watch.ts')).registerWatch,
  status: async () => (await import('./commands/status.ts')).registerStatus,
  requeue: async () => (await import('./commands/requeue.ts')).registerRequeue,
  demo: async () => (await import('./commands/demo.ts')).registerDemo,
  generate: async () => (await import('./commands/generate.ts')).registerGenerate,
  init: async () => (await import('./commands/init.ts')).registerInit,
  ui: async () => (await import('./commands/ui.ts')).registerUi,
  sync: async () => (await import('./commands/sync.ts')).registerSync,
};

/** The command argv names (the first word that is not an option), when it is one of COMMANDS. */
function commandNamed(argv: string[]): string | undefined {
  const word = argv.slice(2).find((a) => !a.startsWith('-'));
  return word !== undefined && Object.hasOwn(COMMANDS, word) ? word : undefined;
}

/**
 * The `lakelet` command line: parses argv, runs one command, reports errors; no logic of its own.
 * With `only`, just that command is registered (what a run needs); without, all of them (the
 * top-level help, `lakelet help <cmd>`, suggestions for a mistyped command).
 */
export async function buildProgram(only?: string): Promise<Command> {
  // Loaded here, not at the top: --version and `lakelet read`'s direct path run without it.
  const { Command } = await import('commander');
  const program = new Command('lakelet')
    .description('lakelet: a local-first lakehouse over real Delta Lake tables.')
    .option('--verbose', 'on failure, also print the stack trace and causes')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // Commander's own errors (unknown option, missing argument, bad value) as one line.
      outputError: (text, write) => write(`lakelet: ${text.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()}\n`),
    })
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet write ./tables/orders --from orders.csv --partition-by order_date
  $ lakelet read ./tables/orders --where "amount > 100" --limit 20
  $ lakelet history ./tables/orders
  $ lakelet describe ./tables/orders --json

Run 'lakelet <command> --help' for the options of a command, 'lakelet --version' for the version.`,
    );
  // Registered after exitOverride/configureOutput so that the subcommands inherit them.
  const names = only !== undefined ? [only] : Object.keys(COMMANDS);
  const registers = await Promise.all(names.map((name) => COMMANDS[name]()));
  for (const register of registers) register(program);
  return program;
}

/** Runs the CLI; resolves to the exit code (also set on process.exitCode). */
export async function main(argv: string[]): Promise<number> {
  // A reader that goes away (`| head`) must not crash the process with an unhandled 'error'.
  process.stdout.on('error', (err) => {
    if (!isBrokenPipe(err)) throw err;
  });
  // Handled here, not as a commander option: a program-level --version would also swallow the
  // --version <n> of read, history, restore and changes (time travel) wherever it appears.
  if (argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')) {
    process.stdout.write(`${packageVersion()}\n`);
    process.exitCode = 0;
    return 0;
  }
  // A plain read of a small table, in the simplest spellings: printed without commander or DuckDB
  // (commands/read-fast.ts); anything else it declines, and the full parse below runs.
  if (argv[2] === 'read') {
    const { readFast } = await import('./commands/read-fast.ts');
    if (await readFast(argv)) {
      process.exitCode = 0;
      return 0;
    }
  }
  const program = await buildProgram(commandNamed(argv));
  const { CommanderError } = await import('commander');
  const verbose = () => argv.includes('--verbose') || program.opts().verbose === true;
  let code = 0;
  try {
    await program.parseAsync(argv);
  } catch (err) {
    code = handle(err, verbose(), CommanderError);
  }
  process.exitCode = code;
  return code;
}

function handle(err: unknown, verbose: boolean, CommanderError: typeof import('commander').CommanderError): number {
  if (err instanceof CommanderError) {
    // Help and usage errors: commander has already printed what there is to say.
    if (err.exitCode === 0) return 0;
    return EXIT_USAGE;
  }
  if (isBrokenPipe(err)) return 0;
  if (err instanceof CliError && err.reported) return err.exitCode;
  process.stderr.write(errorLine(err) + '\n');
  if (verbose) process.stderr.write(errorDetail(err));
  return exitCodeOf(err);
}
