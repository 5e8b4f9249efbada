import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** The real `lakelet` bin, run as a child process the way a user runs it. */
export const LAKELET_BIN = join(process.cwd(), 'bin/lakelet.mjs');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `lakelet <args>` (cwd defaults to the repository) and collects its output. */
export function lakelet(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [LAKELET_BIN, ...args], { cwd: options.cwd ?? process.cwd(), env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

/** Succeeds, or fails the test showing what the CLI printed. */
export async function lakeletOk(args: string[], options: { cwd?: string } = {}): Promise<CliRun> {
  const run = await lakelet(args, options);
  if (run.code !== 0) throw new Error(`lakelet ${args.join(' ')} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}
