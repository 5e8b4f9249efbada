import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Workspace } from '../support/workspace.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';
import { lakelet, startLakelet } from '../support/cli.ts';
import type { LiveProcess } from '../support/process.ts';

/** `lakelet run --every` and `lakelet sync --every` as real child processes: a summary per run, stop on SIGTERM, exit codes. */
let ws: Workspace | undefined;
let child: LiveProcess | undefined;
afterEach(() => {
  if (child && child.child.exitCode === null) child.child.kill('SIGKILL');
  ws?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const summaries = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('lakelet run (run '));

describe('--every', () => {
  it('run --every: each run takes what landed since the last one and prints its summary; SIGTERM stops it with exit 0', async () => {
    ws = new Workspace(pipelineYaml({ pattern: '*.csv' }, { name: 'events' }));
    ws.land('landing/a.csv', 'id,v\n1,a\n');
    child = startLakelet(['run', '--every', '1s', '-c', ws.configFile, '--log-format', 'json']);
    await until('the first run', () => summaries(child!.stdout()).length >= 1);
    expect(summaries(child.stdout())[0]).toMatch(/^lakelet run \(run 1\): 1 batch, 1 file: 1 staged, 1 merged/);
    writeFileSync(join(ws.dir, 'landing', 'b.csv'), 'id,v\n2,b\n');
    await until('b.csv merged by a later run', async () => (await ws!.log()).some((r) => r.file_name === 'b.csv' && r.status === 'merged'));
    await until('that run summarized', () => summaries(child!.stdout()).some((l) => /1 file: 1 staged, 1 merged/.test(l) && !l.includes('(run 1)')));
    child.child.kill('SIGTERM');
    const { code, stdout, stderr } = await child.exited;
    expect(code, stderr).toBe(0);
    // Runs with nothing landed say so too (a summary per run), and the numbers follow the grid.
    const runs = summaries(stdout).map((l) => Number(/\(run (\d+)\)/.exec(l)![1]));
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs).toEqual([...runs].sort((a, b) => a - b));
    expect((await ws.rows('tables/target', 'id')).map((r) => r.v)).toEqual(['a', 'b']);
    const events = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.filter((e) => e.event === 'run.run-started').map((e) => e.run)).toEqual(runs);
  });

  it('sync --every: a source that fails is in every run\'s summary, the schedule goes on, and the exit code on SIGTERM is 1; a bad interval is usage (2)', async () => {
    ws = new Workspace('sources:\n  gone:\n    url: postgres://x@127.0.0.1:1/db\n    target: ./lake\n    connectTimeout: 2s\n');
    child = startLakelet(['sync', '--every', '500ms', '-c', ws.configFile, '--log-format', 'json']);
    const runs = () => child!.stdout().split('\n').filter((l) => l.startsWith('lakelet sync: '));
    await until('two runs', () => runs().length >= 2);
    child.child.kill('SIGTERM');
    const { code, stderr } = await child.exited;
    expect(code, stderr).toBe(1);
    for (const r of runs()) expect(r).toBe('lakelet sync: 0 synced, 0 skipped, 1 failed');
    expect(stderr).toContain("nothing listens at 127.0.0.1:1");

    const bad = await lakelet(['run', '--every', 'soon', '-c', ws.configFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--every soon: not an interval');
  });
});
