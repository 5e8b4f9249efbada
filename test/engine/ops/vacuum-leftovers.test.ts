import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../../src/adapters/clock.ts';
import { DeltaTable } from '../../../src/engine/table.ts';
import { useEngine } from '../../support/engine-fixture.ts';
import { startProcess, tsxArgs, type LiveProcess } from '../../support/process.ts';

/**
 * VACUUM also removes what lakelet writers killed half-way left in the table's folder (a COPY's
 * `.lakelet-staging/<pid>-*` folder, `.lakelet-tmp-<pid>-*` files in `_delta_log/`), once their
 * process is gone or they are older than the retention (and an hour): never a live writer's, and
 * never a file of the log itself.
 */
const fx = useEngine('lakelet-vacuum-leftovers-');
const DAY = 24 * 3_600_000;
let live: LiveProcess | undefined;
afterEach(async () => {
  live?.child.kill('SIGKILL');
  await live?.exited;
  live = undefined;
});

/** Staging folders with something written in them (one may vanish as its writer finishes). */
function busyFolders(staging: string): string[] {
  if (!existsSync(staging)) return [];
  return readdirSync(staging).filter((n) => {
    try {
      return readdirSync(join(staging, n)).length > 0;
    } catch {
      return false;
    }
  });
}

describe('VACUUM and the leftovers of killed writers', () => {
  it('removes a SIGKILLed writer\'s staging folder and log temp files, lists them in a dry run, keeps a live writer\'s until they are older than the retention', async () => {
    const dir = join(fx.dir, 'killed');
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    await t.write({ sql: "SELECT 0::BIGINT AS id, '' AS s" }).execute();
    const staging = join(dir, '.lakelet-staging');
    const log = join(dir, '_delta_log');
    // A writer killed while its COPY writes into the staging folder.
    const script = fileURLToPath(new URL('fixtures/endless-writer.ts', import.meta.url));
    let killed: string[] = [];
    let dead = 0;
    for (let attempt = 0; attempt < 5 && killed.length === 0; attempt++) {
      const writer = startProcess(process.execPath, tsxArgs(script, [dir]));
      while (writer.child.exitCode === null && busyFolders(staging).length === 0) await new Promise((r) => setTimeout(r, 2));
      writer.child.kill('SIGKILL');
      const run = await writer.exited;
      expect(run.signal, run.stderr).toBe('SIGKILL');
      dead = writer.child.pid!;
      killed = existsSync(staging) ? readdirSync(staging) : [];
    }
    expect(killed.length).toBeGreaterThan(0);
    for (const name of killed) expect(name.startsWith(`${dead}-`)).toBe(true);
    // A commit it was about to link (named as the writer names it), and a live writer's files beside it.
    const deadTemp = join(log, `.lakelet-tmp-${dead}-commit`);
    writeFileSync(deadTemp, '{"add":');
    live = startProcess(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    const liveTemp = join(log, `.lakelet-tmp-${live.child.pid}-commit`);
    const liveStaging = join(staging, `${live.child.pid}-${randomUUID()}`);
    // A folder of an older version (a bare uuid, here one whose first group is all digits), fresh: kept.
    const oldStyle = join(staging, '12345678-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
    mkdirSync(oldStyle, { recursive: true });
    writeFileSync(liveTemp, '{"add":');
    mkdirSync(liveStaging);
    writeFileSync(join(liveStaging, 'data_0.parquet'), 'PAR1');
    const logFiles = readdirSync(log).filter((n) => !n.startsWith('.'));
    const rows = (await t.read()).length;

    // (The kill may also have left a temp file of the dead writer in the log or beside the data.)
    const deadOwn = [dir, log].flatMap((d) => readdirSync(d).filter((n) => n.startsWith(`.lakelet-tmp-${dead}-`)).map((n) => join(d, n)));
    const abandoned = [...new Set([deadTemp, ...deadOwn, ...killed.map((n) => join(staging, n))])].sort();
    const dry = await t.vacuum().dryRun().execute();
    expect(dry.metrics.leftoversDeleted.sort()).toEqual(abandoned);
    for (const p of abandoned) expect(existsSync(p)).toBe(true);

    // Even with no retention at all, a live writer's fresh files stay (an hour at least).
    const vacuumed = await t.vacuum().retentionHours(0).force().execute();
    expect(vacuumed.metrics.leftoversDeleted.sort()).toEqual(abandoned);
    for (const p of abandoned) expect(existsSync(p)).toBe(false);
    expect(existsSync(liveTemp)).toBe(true);
    expect(existsSync(join(liveStaging, 'data_0.parquet'))).toBe(true);
    expect(existsSync(oldStyle)).toBe(true);
    // Every file of the log is still there (and VACUUM's own two commits); the table reads the same.
    expect(readdirSync(log).filter((n) => !n.startsWith('.'))).toEqual(expect.arrayContaining(logFiles));
    expect(readdirSync(log).filter((n) => n.startsWith('.'))).toEqual([`.lakelet-tmp-${live.child.pid}-commit`]);
    expect((await t.read()).length).toBe(rows);
    t.close();

    // Older than the retention (7 days by default), a leftover goes whatever its pid says (pids are reused).
    const later = await DeltaTable.forPath(dir, { compute: fx.compute, clock: new ManualClock(Date.now() + 8 * DAY) });
    expect((await later.vacuum().execute()).metrics.leftoversDeleted.sort()).toEqual([liveTemp, liveStaging, oldStyle].sort());
    expect(existsSync(staging)).toBe(false);
    expect((await later.read()).length).toBe(rows);
    later.close();
  });
});
