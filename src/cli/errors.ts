import { LakeletError } from '../engine/errors.ts';
import { ConfigError } from '../pipeline/errors.ts';

/**
 * How the CLI reports failure: exactly one line `lakelet: <message>` on stderr and exit code 1;
 * usage mistakes (unknown option, bad option value) exit 2. `--verbose` adds the stack trace and
 * the chain of causes. `run` and `watch` exit 3 when they finished but not everything went in
 * (a file quarantined or a record rejected), so a script or scheduler cannot mistake that for
 * success.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INCOMPLETE = 3;

/** The exit codes as `run --help` and `watch --help` print them. */
export const EXIT_CODES_HELP = `
Exit codes:
  ${EXIT_OK}  every file taken went in (merged, staged, or a duplicate of one already applied)
  ${EXIT_FAILURE}  failed (the message says what and where; rerun after fixing: unfinished batches resume)
  ${EXIT_USAGE}  wrong usage (unknown option, bad value; a lakelet.yml, profile or pipeline that does not exist)
  ${EXIT_INCOMPLETE}  finished, but some files were quarantined or some records rejected (see quarantine/ and 'lakelet status')`;

/** A failure the CLI itself detects, with a message meant for the user. */
export class CliError extends Error {
  readonly exitCode: number;
  /** Already reported by the command (e.g. as a log event): exit with the code, print nothing more. */
  readonly reported: boolean;
  constructor(message: string, options: { cause?: unknown; exitCode?: number; reported?: boolean } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'CliError';
    this.exitCode = options.exitCode ?? EXIT_FAILURE;
    this.reported = options.reported ?? false;
  }
}

/** A CliError for a wrong invocation (exit code 2). */
export function usageError(message: string): CliError {
  return new CliError(message, { exitCode: EXIT_USAGE });
}

/**
 * Gives an engine or DuckDB error raised while working on `table` the table's name, unless it is
 * already a user-facing error (LakeletError messages name the table themselves).
 */
export function inContext(table: string, err: unknown): unknown {
  if (err instanceof LakeletError || err instanceof CliError || isBrokenPipe(err)) return err;
  return new CliError(`${table}: ${oneLine(messageOf(err))}`, { cause: err });
}

/** The single line the user sees. */
export function errorLine(err: unknown): string {
  return `lakelet: ${oneLine(messageOf(err))}`;
}

/** The stack of `err` and of each of its causes, for --verbose. */
export function errorDetail(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    const text = current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : String(current);
    parts.push(depth === 0 ? text : `Caused by: ${text}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join('\n') + '\n';
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  // A lakelet.yml that is not there, or a profile it does not define: the invocation is wrong.
  if (err instanceof ConfigError && err.usage) return EXIT_USAGE;
  return EXIT_FAILURE;
}

/** Writing to a pipe whose reader went away (`lakelet read … | head`): not a failure. */
export function isBrokenPipe(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EPIPE';
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * One line: DuckDB messages carry the failing SQL (`LINE 1: …`) and a caret line after the
 * explanation; those are dropped and the rest is joined.
 */
function oneLine(message: string): string {
  const lines: string[] = [];
  for (const raw of message.split(/\r?\n/)) {
    const line = raw.trim();
    if (/^LINE \d+:/.test(line)) break;
    if (line) lines.push(line);
  }
  return (lines.join(' ') || 'unknown error').replace(/\s+/g, ' ');
}
