import { afterEach, describe, expect, it } from 'vitest';
import { openSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Workspace } from '../support/workspace.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';
import { lakelet, startLakelet } from '../support/cli.ts';
import type { LiveProcess } from '../support/process.ts';

/** `lakelet watch` as a real child process: files written slowly are taken only once complete. */
let ws: Workspace | undefined;
let watch: LiveProcess | undefined;
afterEach(() => {
  if (watch && watch.child.exitCode === null) watch.child.kill('SIGKILL');
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
    ws = new Workspace(pipelineYaml({ pattern: '*.csv' }, { name: 'events' }));
    ws.land('landing/already-there.csv', 'id,v\n0,backfill\n');
    watch = startLakelet(['watch', '-c', ws.configFile, '--log-format', 'json', '--stable-ms', '400', '--burst-ms', '1000', '--json']);
    const { child, stdout, stderr } = watch;
    const events = () => stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
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
    const { code } = await watch.exited;
    expect(code, stderr()).toBe(0);
    const summary = JSON.parse(stdout());
    expect(summary.totals).toMatchObject({ files: 5, rowsInserted: 12 });
  });

  it('SIGTERM during the start-up backfill stops after the batch in progress, prints the summary, exits 3 for a quarantined file; the next run finishes the rest', async () => {
    ws = new Workspace(pipelineYaml({ pattern: '*.csv', batch: { maxFiles: 1 } }, { name: 'events', stateDir: './state' }));
    // Enough files that SIGTERM, sent once the second batch is planned, lands well inside the
    // backfill (one file a batch); each further file was only another batch for the next run.
    const n = 12;
    ws.land('landing/000-bad.csv', 'id,v\n1\n'); // the first batch quarantines it
    for (let i = 1; i < n; i++) ws.land(`landing/${String(i).padStart(3, '0')}.csv`, `id,v\n${i},v${i}\n`);
    watch = startLakelet(['watch', '-c', ws.configFile, '--log-format', 'json', '--json']);
    const { child, stderr } = watch;
    const events = () => stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    await until('the second batch planned', () => events().filter((e) => e.event === 'batch.planned').length >= 2, 60_000);
    child.kill('SIGTERM');
    const { code, signal, stdout } = await watch.exited;
    expect(signal, stderr()).toBeNull();
    expect(code, stderr()).toBe(3);
    const done = events().filter((e) => e.event === 'batch.done').length;
    expect(events().some((e) => e.event === 'watch.stopping')).toBe(true);
    expect(events().some((e) => e.event === 'watch.started')).toBe(false);
    expect(done).toBeLessThan(n);
    // Every batch it planned it also finished: no manifest without its done marker.
    const batches = ws.files('state/events/batches');
    expect(batches.filter((f) => f.endsWith('.done.json')).length).toBe(done);
    expect(batches.filter((f) => !f.endsWith('.done.json')).length).toBe(done);
    const summary = JSON.parse(stdout);
    expect(summary.totals).toMatchObject({ batches: done, files: done, quarantined: 1, merged: done - 1 });
    expect(ws.files('landing')).toHaveLength(n - done);

    const rest = await lakelet(['run', '--once', '-c', ws.configFile, '--json', '--quiet']);
    expect(rest.code, rest.stderr).toBe(0);
    expect(JSON.parse(rest.stdout).totals).toMatchObject({ recovered: 0, files: n - done, merged: n - done, quarantined: 0 });
    expect((await ws.rows('tables/target', 'id')).length).toBe(n - 1);
  });
});
