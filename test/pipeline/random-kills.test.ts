import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DeltaTable } from '../../src/engine/table.ts';
import { csv, Workspace } from '../support/workspace.ts';
import { lakelet, startLakelet } from '../support/cli.ts';
import { canonicalRows } from '../support/golden.ts';
import { deltaRsAvailable, requirePeer, runDeltaRs } from '../support/peers.ts';
import { rng } from '../support/rng.ts';
import { HEADER, yaml } from './accounts-fixture.ts';

/**
 * SIGKILLs at moments no crash point names (crash-matrix.test.ts kills at step boundaries): runs of
 * a pipeline whose target updates and deletes by deletion vector are killed a few milliseconds
 * after a log event picked at random (a batch planned, staged, its tombstones written, merged),
 * so kills land inside COPYs, DV writes and commits. After the kills, one run finishes: the target
 * must hold exactly the rows of applying the files in order, every file staged, archived and
 * logged once — read by lakelet and by delta-rs alike.
 */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const FILES = 12;
const ROWS = 30;
const KILLS = 6;
const EVENTS = ['"event":"batch.planned"', '"event":"batch.staged"', '"event":"batch.tombstones"', '"event":"batch.merged"'];

/** The landed files (inserts, updates and deletes of 60 accounts) and the rows applying them in order leaves. */
function accountsFiles(seed: number): { files: string[]; expected: string[] } {
  const r = rng(seed);
  const state = new Map<number, string>();
  const files: string[] = [];
  for (let f = 0; f < FILES; f++) {
    const keys = new Set<number>();
    while (keys.size < ROWS) keys.add(1 + Math.floor(r() * 60));
    const rows: (string | number)[][] = [];
    for (const k of keys) {
      const op = !state.has(k) ? 'I' : r() < 0.25 ? 'D' : 'U';
      const score = 300 + Math.floor(r() * 500);
      const balance = Math.floor(r() * 100000) / 100;
      // A later file's rows are newer: the files apply in landing order.
      const at = `2024-01-${String(1 + f).padStart(2, '0')} 00:00:00`;
      rows.push([`C${k}`, `A${k}`, score, balance, at, op]);
      if (op === 'D') state.delete(k);
      else state.set(k, `A${k}|${score}|${balance}|${at}`);
    }
    files.push(csv(HEADER, rows));
  }
  return { files, expected: [...state.values()].sort() };
}

const asLines = (rows: Record<string, unknown>[]) => rows.map((r) => `${r.account_number}|${r.credit_score}|${r.account_balance}|${String(r.last_modified).replace('T', ' ').slice(0, 19)}`).sort();

describe('random SIGKILLs during ingestion into a deletion-vector target', () => {
  it('after kills inside COPYs, DV writes and commits, one more run leaves exactly one clean run\'s result', async () => {
    const peer = requirePeer('delta-rs', deltaRsAvailable) === 'run';
    const { files, expected } = accountsFiles(13);
    ws = new Workspace(yaml({ batch: { maxFiles: 2 }, target: { path: './tables/accounts', properties: { 'delta.enableDeletionVectors': true } } }));
    files.forEach((text, i) => ws!.land(`landing/f${String(i).padStart(2, '0')}.csv`, text));
    const args = ['run', '--once', '-c', ws.configFile, '--json', '--log-format', 'json'];
    const r = rng(7);
    let killed = 0;
    for (let attempt = 0; attempt < KILLS * 3 && killed < KILLS; attempt++) {
      // Wait for the n-th occurrence of a random event, then kill 0-30 ms later.
      const event = EVENTS[Math.floor(r() * EVENTS.length)];
      const nth = 1 + Math.floor(r() * 2);
      const delay = Math.floor(r() * 30);
      // (Nothing below throws before the run has ended: no process outlives a failed test.)
      const run = startLakelet(args);
      while (run.child.exitCode === null && run.stderr().split(event).length - 1 < nth) await new Promise((res) => setTimeout(res, 1));
      if (run.child.exitCode === null) {
        await new Promise((res) => setTimeout(res, delay));
        run.child.kill('SIGKILL');
      }
      const ended = await run.exited;
      if (ended.signal === 'SIGKILL') killed++;
      else expect(ended.code, ended.stderr).toBe(0);
      if (ws.files('landing').length === 0) break;
    }
    expect(killed, 'runs killed before the files ran out').toBeGreaterThan(1);
    const last = await lakelet(args);
    expect(last.code, last.stderr).toBe(0);

    // The target: exactly the files applied in order, by lakelet and by delta-rs.
    expect(asLines(await ws.rows('tables/accounts', 'account_number'))).toEqual(expected);
    const target = await DeltaTable.forPath(join(ws.dir, 'tables/accounts'));
    try {
      const snapshot = await target.snapshot();
      expect(snapshot.files.some((f) => f.deletionVector), 'rows updated or deleted by DV').toBe(true);
      if (peer) {
        const theirs = (await runDeltaRs(['read', join(ws.dir, 'tables/accounts')])) as { version: number; rows: Record<string, unknown>[] };
        expect(theirs.version).toBe(snapshot.version);
        expect(canonicalRows(theirs.rows)).toEqual(canonicalRows(await target.read()));
      }
    } finally {
      target.close();
    }
    // Every landed row staged once; every file archived and logged once, none quarantined.
    const stage = await ws.rows('tables/stage', '_source_file, _row_number');
    expect(new Set(stage.map((s) => `${s._source_file}#${s._row_number}`)).size).toBe(FILES * ROWS);
    expect(stage).toHaveLength(FILES * ROWS);
    expect(ws.files('landing')).toEqual([]);
    expect(ws.files('quarantine')).toEqual([]);
    expect(ws.files('archive').filter((f) => f.endsWith('.csv'))).toHaveLength(FILES);
    const log = await ws.log();
    expect(log.map((l) => `${l.file_name}:${l.status}`).sort()).toEqual(files.map((_, i) => `f${String(i).padStart(2, '0')}.csv:merged`));
  }, 180_000);
});
