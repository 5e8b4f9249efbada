import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { randomUUID } from 'node:crypto';
import { csv, Workspace } from '../support/workspace.ts';
import { HEADER, yaml } from './accounts-fixture.ts';
import { lakelet, startLakelet } from '../support/cli.ts';
import { startProcess, type LiveProcess } from '../support/process.ts';

/**
 * A run SIGKILLed in the middle of a write (not at a step boundary, as in crash-matrix.test.ts)
 * leaves half-written files: a COPY's `.lakelet-staging/<pid>-*` folder in a table, `.lakelet-tmp-*`
 * files in `_delta_log/` and the state folder. The next run removes every one whose writer is gone,
 * says so, and leaves a live writer's alone.
 */
let ws: Workspace | undefined;
let live: LiveProcess | undefined;
afterEach(async () => {
  live?.child.kill('SIGKILL');
  await live?.exited;
  live = undefined;
  ws?.cleanup();
});

/** Every `.lakelet-tmp-*` file and `.lakelet-staging/` entry under `dir`, relative to it. */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.name === '.lakelet-staging') out.push(...readdirSync(full).map((n) => relative(dir, join(full, n))));
      else if (e.name.startsWith('.lakelet-tmp-')) out.push(relative(dir, full));
      else if (e.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out.sort();
}

const rows = (n: number) => csv(HEADER, Array.from({ length: n }, (_, i) => [`C${i}`, `A${i}`, 600 + (i % 100), i / 7, '2024-01-01 00:00:00', 'I']));

describe('leftovers of a run killed mid-write', () => {
  it('the next run removes the killed writer\'s staging folders and temp files everywhere, keeps a live writer\'s, and finishes the batch', async () => {
    const busy = (tables: string) =>
      existsSync(tables) &&
      leftovers(tables).some((p) => {
        try {
          return readdirSync(join(tables, p)).length > 0;
        } catch {
          return false; // its COPY just ended
        }
      });
    let dead = 0;
    let left: string[] = [];
    const staged = (p: string) => p.includes('/.lakelet-staging/');
    // SIGKILL while a COPY is writing into a table's staging folder (in a fresh workspace again if
    // the kill came just too late).
    for (let attempt = 0; attempt < 3 && !left.some(staged); attempt++) {
      ws?.cleanup();
      ws = new Workspace(yaml());
      ws.land('landing/big.csv', rows(200_000));
      const run = startLakelet(['run', '--once', '-c', ws.configFile]);
      while (run.child.exitCode === null && !busy(join(ws.dir, 'tables'))) await new Promise((r) => setTimeout(r, 2));
      run.child.kill('SIGKILL');
      const crashed = await run.exited;
      expect(crashed.code, crashed.stderr).not.toBe(1);
      dead = run.child.pid!;
      // Everything the kill left, wherever it was (a COPY's folder; a temp file, if the kill hit one).
      left = leftovers(ws.dir);
    }
    if (!ws) throw new Error('no workspace');
    expect(left.filter(staged).length).toBeGreaterThan(0);
    for (const p of left.filter(staged)) expect(p).toMatch(new RegExp(`^tables/\\w+/\\.lakelet-staging/${dead}-`));
    const args = ['run', '--once', '-c', ws.configFile, '--json', '--log-format', 'json'];

    // What else a kill at another instant leaves (named as the killed run names them), and a live
    // writer's files (another process, still running) beside them.
    live = startProcess(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    const writer = live.child.pid!;
    // Staging folders as the data writer names them: <pid>-<uuid>.
    const deadCopy = `${dead}-${randomUUID()}`;
    const liveCopy = `${writer}-${randomUUID()}`;
    const plant = (rel: string) => {
      mkdirSync(join(ws!.dir, rel, '..'), { recursive: true });
      writeFileSync(join(ws!.dir, rel), 'partial');
    };
    const deadFiles = [
      `tables/stage/_delta_log/.lakelet-tmp-${dead}-commit`,
      `tables/accounts/_delta_log/.lakelet-tmp-${dead}-checkpoint`,
      `tables/accounts/.lakelet-staging/${deadCopy}/part-0.parquet`,
      `state/accounts/batches/.lakelet-tmp-${dead}-manifest`,
      `state/ingestion_log/_delta_log/.lakelet-tmp-${dead}-commit`,
    ];
    const liveFiles = [`tables/accounts/_delta_log/.lakelet-tmp-${writer}-commit`, `tables/accounts/.lakelet-staging/${liveCopy}/part-0.parquet`, `state/accounts/batches/.lakelet-tmp-${writer}-manifest`];
    for (const f of [...deadFiles, ...liveFiles]) plant(f);

    const again = await lakelet(args);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).totals).toMatchObject({ recovered: 1, rowsInserted: 200_000 });
    // Only the live writer's files are left, and nothing of the killed run.
    expect(leftovers(ws.dir)).toEqual([`state/accounts/batches/.lakelet-tmp-${writer}-manifest`, `tables/accounts/.lakelet-staging/${liveCopy}`, `tables/accounts/_delta_log/.lakelet-tmp-${writer}-commit`].sort());
    for (const f of liveFiles) expect(existsSync(join(ws.dir, f))).toBe(true);
    // Each folder cleaned is reported.
    const events = again.stderr.trim().split('\n').map((l) => JSON.parse(l) as { event: string; folder?: string; files?: number });
    const cleaned = Object.fromEntries(events.filter((e) => e.event === 'temp.removed').map((e) => [relative(ws!.dir, e.folder!.replace(/^file:\/\//, '')), e.files]));
    const removed = [...left, ...deadFiles.map((f) => f.replace(/(\.lakelet-staging\/[^/]+)\/.*$/, '$1'))];
    const expected: Record<string, number> = {};
    for (const folder of ['tables/stage', 'tables/accounts', 'state/accounts', 'state/ingestion_log']) {
      const n = removed.filter((p) => p.startsWith(`${folder}/`)).length;
      if (n > 0) expected[folder] = n;
    }
    expect(cleaned).toEqual(expected);
    expect(await ws.rows('tables/accounts', 'account_number', "account_number IN ('A0', 'A199999')")).toHaveLength(2);
  });

  it('a batch marked done whose work folder a kill left behind: the next run removes the folder', async () => {
    ws = new Workspace(yaml());
    ws.land('landing/a.csv', rows(3));
    await ws.run();
    const work = join(ws.dir, 'state/accounts/work');
    mkdirSync(join(work, '1'), { recursive: true });
    writeFileSync(join(work, '1', 'a.csv'), 'normalized copy');
    // An unfinished batch's work folder (none here: batch 2 is not planned) would be kept for its redo.
    mkdirSync(join(work, '2'), { recursive: true });
    await ws.run();
    expect(readdirSync(work)).toEqual(['2']);
    expect(ws.events.filter((e) => e.event === 'work.removed').map((e) => e.fields)).toEqual([{ pipeline: 'accounts', folder: work, batches: 1 }]);
  });
});
