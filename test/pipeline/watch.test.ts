import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, REPO, Workspace } from './workspace.ts';

/** `lakelet watch` as a real child process: files written slowly are taken only once complete. */
let ws: Workspace | undefined;
let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
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

describe('lakelet watch', () => {
  it('picks up files as they arrive, waits for a slowly written file to finish, stops on SIGTERM with a summary', async () => {
    ws = new Workspace(`
pipelines:
  events:
    landing: ./landing
    pattern: "*.csv"
    format: csv
    stage: ./tables/stage
    target: ./tables/target
    key: id
    archive: ./archive
    quarantine: ./quarantine
`);
    ws.land('landing/already-there.csv', 'id,v\n0,backfill\n');
    child = spawn(process.execPath, [BIN, 'watch', '-c', ws.configFile, '--log-format', 'json', '--stable-ms', '400', '--burst-ms', '1000', '--json'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const events = () => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    await until('watch.started', () => events().some((e) => e.event === 'watch.started'));
    expect(events().some((e) => e.event === 'batch.done')).toBe(true); // the backfill

    // A file written in pieces over ~1.2 s, pausing less than the stability window each time.
    const slow = join(ws.dir, 'landing', 'slow.csv');
    const fd = openSync(slow, 'w');
    writeSync(fd, 'id,v\n');
    for (let i = 1; i <= 8; i++) {
      writeSync(fd, `${i},part${i}\n`);
      await sleep(150);
    }
    closeSync(fd);
    await until('slow.csv merged', async () => (await ws!.log()).some((r) => r.file_name === 'slow.csv'));
    const slowRows = (await ws.log()).filter((r) => r.file_name === 'slow.csv');
    expect(slowRows).toHaveLength(1);
    expect(slowRows[0]).toMatchObject({ status: 'merged', records: '8' });

    // A burst of files.
    for (const n of [1, 2, 3]) writeFileSync(join(ws.dir, 'landing', `burst-${n}.csv`), `id,v\n${100 + n},burst\n`);
    await until('burst logged', async () => (await ws!.log()).filter((r) => String(r.file_name).startsWith('burst')).length === 3);
    expect((await ws.rows('tables/target', 'id')).length).toBe(12);
    const burstBatches = new Set((await ws.log()).filter((r) => String(r.file_name).startsWith('burst')).map((r) => r.batch));
    expect(burstBatches.size).toBe(1);
    expect(ws.files('landing')).toEqual([]);

    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child!.on('close', (c) => r(c)));
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.totals).toMatchObject({ files: 5, rowsInserted: 12 });
  });
});
