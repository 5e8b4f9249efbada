import path from 'node:path';
import { how, REPO, runProcess, startProcess, type LiveProcess, type ProcessOptions, type ProcessRun } from './process.ts';

/**
 * The real `lakelet` bin, run as a child process the way a user runs it: the one way tests spawn
 * the CLI. The bin runs the JavaScript build in dist/ (test/support/build-cli.ts brings it up to
 * date before the tests start); each spawn still costs 0.1–0.3 s of CPU (Node, DuckDB, the
 * command's modules), so tests group assertions over one run and use in-process calls where the
 * CLI is not the point.
 */
export const LAKELET_BIN: string = path.join(REPO, 'bin', 'lakelet.cjs');

export type CliRun = ProcessRun;

/** Runs `lakelet <args>` (cwd defaults to the repository) and collects its output and exit. */
export function lakelet(args: string[], options: ProcessOptions = {}): Promise<CliRun> {
  return runProcess(process.execPath, [LAKELET_BIN, ...args], options);
}

/** Succeeds, or fails the test showing what the CLI printed. */
export async function lakeletOk(args: string[], options: ProcessOptions = {}): Promise<CliRun> {
  const run = await lakelet(args, options);
  if (run.code !== 0) throw new Error(`lakelet ${args.join(' ')} ${how(run)}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

/** Starts a long-running `lakelet <args>` (watch) whose output the test follows while it runs. */
export function startLakelet(args: string[], options: ProcessOptions = {}): LiveProcess {
  return startProcess(process.execPath, [LAKELET_BIN, ...args], options);
}
