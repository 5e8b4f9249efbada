// The Cloud Function for tests: the Functions Framework's own server (its main, as `npm run function`
// and the platform run it) as a child process, loading the repository's function module the way a
// deployment does (package.json "main"), bound to 127.0.0.1 on a free port. One per test file.
import path from 'node:path';
import { freePort } from './gcs-emulator.ts';
import { REPO, startProcess, type LiveProcess } from './process.ts';

/** The framework's entry point (its `functions-framework` bin). */
const FRAMEWORK_MAIN = path.join(REPO, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
const LOOPBACK = path.join(REPO, 'test', 'support', 'loopback-listen.mjs');

export interface FunctionServer {
  /** http://127.0.0.1:<port>/ */
  url: string;
  process: LiveProcess;
  stop(): Promise<void>;
}

/** Starts the framework serving `target` from the repository root; resolves once it answers HTTP. */
export async function startFunctionServer(target: string, options: { env?: Record<string, string>; cwd?: string } = {}): Promise<FunctionServer> {
  let last = '';
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const proc = startProcess(process.execPath, ['--import', LOOPBACK, FRAMEWORK_MAIN, `--target=${target}`, `--source=${REPO}`, `--port=${port}`], {
      ...(options.cwd ? { cwd: options.cwd } : {}),
      env: { ...options.env, NODE_ENV: 'test' },
    });
    const url = `http://127.0.0.1:${port}/`;
    const deadline = Date.now() + 30_000;
    let exited = false;
    void proc.exited.then(() => (exited = true));
    while (!exited && Date.now() < deadline) {
      try {
        await fetch(url); // any answer (a CloudEvent function answers GET with 404) means it is up
        return {
          url,
          process: proc,
          async stop() {
            if (proc.child.exitCode === null && proc.child.signalCode === null) {
              proc.child.kill('SIGTERM');
              await proc.exited;
            }
          },
        };
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (!exited) proc.child.kill('SIGKILL');
    last = `stdout: ${proc.stdout()}\nstderr: ${proc.stderr()}`;
  }
  throw new Error(`the Functions Framework did not start serving ${target}:\n${last}`);
}
