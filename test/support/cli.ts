import path from 'node:path';
import { how, REPO, runProcess, startProcess, type LiveProcess, type ProcessOptions, type ProcessRun } from './process.ts';

/**
 * The real `lakelet` bin, run as a child process the way a user runs it: the one way tests spawn
 * the CLI. Each spawn costs about a second of CPU (tsx, DuckDB and the command modules load), so
 * tests group assertions over one run and use in-process calls where the CLI is not the point.
 */
export const LAKELET_BIN: string = path.join(REPO, 'bin', 'lakelet.mjs');

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
