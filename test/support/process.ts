import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Child processes for tests: the one place that spawns a process and collects what it printed.
 * The lakelet CLI (./cli.ts), the tsx worker scripts of the multi-process races, the notebooks,
 * the benchmark harness and the Python peer all go through here.
 */

/** The repository root (this file is test/support/process.ts). */
export const REPO: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ProcessRun {
  code: number | null;
  /** The signal that ended the process (SIGKILL for a crash point), or null. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ProcessOptions {
  /** Default: the repository root. */
  cwd?: string;
  /** Added to (and overriding) this process's environment. */
  env?: Record<string, string | undefined>;
  /** 'pipe' to write to the child's stdin (startProcess only); default 'ignore'. */
  stdin?: 'ignore' | 'pipe';
}

/** A process still running: its output so far, and how it ended once it has. */
export interface LiveProcess {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves when the process has exited and its output is closed (never rejects on a non-zero exit). */
  readonly exited: Promise<ProcessRun>;
}

/** Starts `command args` and collects its stdout and stderr as text while it runs. */
export function startProcess(command: string, args: string[], options: ProcessOptions = {}): LiveProcess {
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, ...options.env },
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<ProcessRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs `command args` to its end and returns what it printed and how it exited. */
export function runProcess(command: string, args: string[], options: ProcessOptions = {}): Promise<ProcessRun> {
  return startProcess(command, args, options).exited;
}

/** Node with tsx, as `npx tsx <script>` runs a TypeScript file (worker scripts, notebooks, benchmarks). */
export function tsxArgs(script: string, args: string[] = []): string[] {
  return ['--import', 'tsx', script, ...args];
}

/** Runs a TypeScript file in a fresh Node process. */
export function runTsx(script: string, args: string[] = [], options: ProcessOptions = {}): Promise<ProcessRun> {
  return runProcess(process.execPath, tsxArgs(script, args), options);
}

/** Runs a TypeScript file that must exit 0; rejects with what it printed otherwise. */
export async function runTsxOk(script: string, args: string[] = [], options: ProcessOptions = {}): Promise<ProcessRun> {
  const run = await runTsx(script, args, options);
  if (run.code !== 0) throw new Error(`${path.relative(REPO, script)} ${args.join(' ')} ${how(run)}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

/** "exited 3" or "was killed by SIGKILL", for failure messages. */
export function how(run: ProcessRun): string {
  return run.signal ? `was killed by ${run.signal}` : `exited ${run.code}`;
}
