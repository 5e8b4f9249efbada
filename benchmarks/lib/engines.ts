import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Task, TaskResult } from './tasks.ts';

/** The repository root (this file is benchmarks/lib/engines.ts). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export type EngineId = 'lakelet' | 'duckdb' | 'deltars';

export const ENGINE_IDS: readonly EngineId[] = ['lakelet', 'duckdb', 'deltars'];

export const ENGINE_LABELS: Record<EngineId, string> = {
  lakelet: 'lakelet',
  duckdb: 'DuckDB native (in-memory)',
  deltars: 'delta-rs (Python deltalake)',
};

/** The venv python (LAKELET_VENV or <repo>/.venv), as test/support/peers.ts finds it. */
export function venvPython(): string | undefined {
  const venv = process.env.LAKELET_VENV ? resolve(process.env.LAKELET_VENV) : join(REPO_ROOT, '.venv');
  const python = join(venv, 'bin', 'python');
  return existsSync(python) ? python : undefined;
}

export const DELTARS_SCRIPT = join(REPO_ROOT, 'benchmarks', 'peers', 'deltars_bench.py');

/** Versions of deltalake, pyarrow and python in the venv, or undefined when the peer is missing. */
export function deltaRsVersions(): { deltalake: string; pyarrow: string; python: string } | undefined {
  const python = venvPython();
  if (!python) return undefined;
  const r = spawnSync(python, [DELTARS_SCRIPT, '--versions'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout);
  } catch {
    return undefined;
  }
}

function command(engine: EngineId): { cmd: string; args: string[] } {
  switch (engine) {
    case 'lakelet':
      return { cmd: process.execPath, args: ['--import', 'tsx', join(REPO_ROOT, 'benchmarks', 'engines', 'lakelet-task.ts')] };
    case 'duckdb':
      return { cmd: process.execPath, args: ['--import', 'tsx', join(REPO_ROOT, 'benchmarks', 'engines', 'duckdb-task.ts')] };
    case 'deltars': {
      const python = venvPython();
      if (!python) throw new Error('delta-rs peer: no Python venv (run `bash scripts/setup-peers.sh`)');
      return { cmd: python, args: [DELTARS_SCRIPT] };
    }
  }
}

export interface ChildOutcome {
  result?: TaskResult;
  error?: string;
  /** Wall time of the whole child process (start-up included), ms. */
  processMs: number;
}

/**
 * Runs one task in a fresh child process of the engine and returns what it reported. A child that
 * fails, prints no result or outlives `timeoutMs` is an error (with the tail of its stderr).
 */
export async function runInChild(engine: EngineId, task: Task, scratch: string, timeoutMs: number): Promise<ChildOutcome> {
  const taskFile = join(scratch, `task-${engine}-${process.pid}-${Date.now()}.json`);
  const resultFile = taskFile.replace(/\.json$/, '.result.json');
  writeFileSync(taskFile, JSON.stringify(task));
  const { cmd, args } = command(engine);
  const started = Date.now();
  try {
    const { code, signal, stderr, timedOut } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; timedOut: boolean }>((done, fail) => {
      const child = spawn(cmd, [...args, taskFile, resultFile], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      });
      let err = '';
      let timedOut = false;
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        err = (err + d).slice(-4000);
      });
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        fail(e);
      });
      child.on('close', (c, s) => {
        clearTimeout(timer);
        done({ code: c, signal: s, stderr: err, timedOut });
      });
    });
    const processMs = Date.now() - started;
    if (timedOut) return { error: `timed out after ${Math.round(timeoutMs / 1000)} s`, processMs };
    if (code !== 0 || !existsSync(resultFile)) {
      const how = signal ? `killed by ${signal}` : `exited ${code}`;
      return { error: `${how}: ${lastLines(stderr)}`, processMs };
    }
    return { result: JSON.parse(readFileSync(resultFile, 'utf8')) as TaskResult, processMs };
  } finally {
    rmSync(taskFile, { force: true });
    rmSync(resultFile, { force: true });
  }
}

function lastLines(text: string): string {
  const lines = text.trim().split('\n').filter((l) => l.trim().length > 0);
  // Python tracebacks end with the exception; Node errors start with it.
  const pick = lines.find((l) => /Error|error:/.test(l)) ?? lines.at(-1) ?? '(no stderr)';
  return pick.trim().slice(0, 500);
}
