import { Command, CommanderError } from 'commander';
import { registerRead } from './commands/read.ts';
import { registerHistory } from './commands/history.ts';
import { registerDescribe } from './commands/describe.ts';
import { registerWrite } from './commands/write.ts';
import { registerMerge } from './commands/merge.ts';
import { registerDelete } from './commands/delete.ts';
import { registerUpdate } from './commands/update.ts';
import { registerOptimize } from './commands/optimize.ts';
import { registerVacuum } from './commands/vacuum.ts';
import { registerRestore } from './commands/restore.ts';
import { registerChanges } from './commands/changes.ts';
import { registerRun } from './commands/run.ts';
import { registerWatch } from './commands/watch.ts';
import { registerStatus } from './commands/status.ts';
import { registerRequeue } from './commands/requeue.ts';
import { registerDemo } from './commands/demo.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerAlter } from './commands/alter.ts';
import { registerInit } from './commands/init.ts';
import { registerUi } from './commands/ui.ts';
import { registerSync } from './commands/sync.ts';
import { packageVersion } from './version.ts';
import { CliError, EXIT_USAGE, errorDetail, errorLine, exitCodeOf, isBrokenPipe } from './errors.ts';

/** The `lakelet` command line: parses argv, runs one command, reports errors; no logic of its own. */
export function buildProgram(): Command {
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
  registerRead(program);
  registerWrite(program);
  registerAlter(program);
  registerMerge(program);
  registerHistory(program);
  registerDescribe(program);
  registerDelete(program);
  registerUpdate(program);
  registerOptimize(program);
  registerVacuum(program);
  registerRestore(program);
  registerChanges(program);
  registerRun(program);
  registerWatch(program);
  registerStatus(program);
  registerRequeue(program);
  registerDemo(program);
  registerGenerate(program);
  registerInit(program);
  registerUi(program);
  registerSync(program);
  return program;
}

/** Runs the CLI; resolves to the exit code (also set on process.exitCode). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const verbose = () => argv.includes('--verbose') || program.opts().verbose === true;
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
  let code = 0;
  try {
    await program.parseAsync(argv);
  } catch (err) {
    code = handle(err, verbose());
  }
  process.exitCode = code;
  return code;
}

function handle(err: unknown, verbose: boolean): number {
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
