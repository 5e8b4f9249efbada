import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csv, Workspace } from '../support/workspace.ts';
import { lakeletYaml, PIPELINE_DEFAULTS, pipelineYaml } from '../support/pipeline-yaml.ts';
import { lakelet } from '../support/cli.ts';

/** run / status / demo through the real binary: exit codes, summaries, JSON logs, config errors. */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const yaml = pipelineYaml();

describe('lakelet run / status / demo', () => {
  it('run --once prints a summary (text and --json) and JSON logs on stderr; status shows counts and recent files', async () => {
    ws = new Workspace(yaml);
    ws.land('landing/a.csv', csv('id,v', [[1, 'a'], [2, 'b']]));
    ws.land('landing/bad.csv', 'id,v\n1\n');
    const text = await lakelet(['run', '--once', '-c', ws.configFile, '--log-format', 'json']);
    // A file quarantined: the run finished, but not everything went in (exit 3, not 0).
    expect(text.code, text.stderr).toBe(3);
    expect(text.stdout).toMatch(/^lakelet run: 1 batch, 2 files: 1 staged, 1 merged, 1 quarantined, 0 duplicates; rows: 2 staged, 0 collapsed by dedup, 2 inserted, 0 updated, 0 deleted by markers, 0 rejected/);
    const events = text.stderr.trim().split('\n').map((l) => JSON.parse(l) as { event: string; level: string });
    expect(events.map((e) => e.event)).toEqual(['batch.planned', 'file.quarantined', 'batch.staged', 'batch.merged', 'batch.done', 'run.incomplete']);
    expect(events[1].level).toBe('warn');
    expect(events[5]).toMatchObject({ level: 'warn', pipeline: 'p', quarantined: 1, rejected: 0, quarantine: join(ws.dir, 'quarantine') });

    ws.land('landing/a.csv', csv('id,v', [[1, 'a'], [2, 'b']]));
    const json = await lakelet(['run', '--once', '-c', ws.configFile, '--json', '--quiet']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).totals).toMatchObject({ files: 1, duplicates: 1 });
    expect(json.stderr).toBe('');

    const status = await lakelet(['status', '-c', ws.configFile, '--json']);
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout);
    expect(s.pipelines[0]).toMatchObject({ pipeline: 'p', waiting: 0, batches: 2, unfinished: [], staged: 1, merged: 1, quarantined: 1, duplicate: 1, requeued: 0, records: 2 });
    expect(s.recent.map((r: { file_name: string; status: string }) => `${r.file_name}:${r.status}`)).toEqual(['a.csv:duplicate', 'a.csv:merged', 'bad.csv:quarantined']);
    const statusText = await lakelet(['status', '-c', ws.configFile]);
    expect(statusText.stdout).toContain('recent files:');
    expect(statusText.stdout).toMatch(/bad\.csv\s+quarantined/);
  });

  it('exits 0 only when everything went in; counts rows deleted by markers and collapsed by dedup; staged and merged mean the same in run and status', async () => {
    ws = new Workspace(
      lakeletYaml({
        p: { ...PIPELINE_DEFAULTS, orderBy: 'ts', deletes: { column: 'op', values: ['D'] } },
        s: { landing: './landing-s', format: 'csv', stage: './tables/stage-only', archive: './archive-s', quarantine: './quarantine-s' },
      }),
    );
    ws.land('landing/a.csv', csv('id,v,ts,op', [[1, 'a', 1, null], [2, 'b', 1, null], [3, 'c', 1, null]]));
    ws.land('landing-s/x.csv', csv('id,v', [[1, 'x'], [2, 'y']]));
    const first = await lakelet(['run', '--once', '-c', ws.configFile, '--json', '--quiet']);
    expect(first.code, first.stderr).toBe(0);
    const t1 = JSON.parse(first.stdout);
    expect(t1.pipelines.find((p: { pipeline: string }) => p.pipeline === 'p')).toMatchObject({ files: 1, staged: 1, merged: 1, rowsStaged: 3, rowsInserted: 3 });
    // A stage-only pipeline: staged, not merged.
    expect(t1.pipelines.find((p: { pipeline: string }) => p.pipeline === 's')).toMatchObject({ files: 1, staged: 1, merged: 0, rowsStaged: 2 });

    // Key 1 twice (the later wins: 1 collapsed), key 2 deleted by a marker, key 4 three times ending in a delete (2 collapsed, nothing to delete).
    ws.land('landing/b.csv', csv('id,v,ts,op', [[1, 'a2', 2, null], [1, 'a3', 3, null], [2, null, 2, 'D'], [4, 'd', 2, null], [4, 'd2', 3, null], [4, null, 4, 'D']]));
    const second = await lakelet(['run', '--once', '-c', ws.configFile, '-p', 'p']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^lakelet run: 1 batch, 1 file: 1 staged, 1 merged, 0 quarantined, 0 duplicates; rows: 6 staged, 3 collapsed by dedup, 0 inserted, 1 updated, 1 deleted by markers, 0 rejected;/);
    expect((await ws.rows('tables/target', 'id')).map((r) => `${r.id}:${r.v}`)).toEqual(['1:a3', '3:c']);

    // A record with no key is rejected: the run finishes, but exits 3 and says where.
    ws.land('landing/c.csv', csv('id,v,ts,op', [[5, 'e', 1, null], [null, 'lost', 1, null]]));
    const third = await lakelet(['run', '--once', '-c', ws.configFile, '--json', '--log-format', 'json']);
    expect(third.code, third.stderr).toBe(3);
    expect(JSON.parse(third.stdout).totals).toMatchObject({ files: 1, staged: 1, merged: 1, quarantined: 0, rowsStaged: 2, rowsInserted: 1, rowsRejected: 1 });
    const warn = third.stderr.trim().split('\n').map((l) => JSON.parse(l)).find((e: { event: string }) => e.event === 'run.incomplete');
    expect(warn).toMatchObject({ level: 'warn', pipeline: 'p', quarantined: 0, rejected: 1 });
    // Its file went in without that record: requeue (whole quarantined files) is not the way.
    expect(warn.hint).toMatch(/^rejected records were left out of files that otherwise went in: .*rows without a key only in the stage table; fix those records and land them as a new file/);
    expect(warn.hint).not.toContain('requeue');

    // status counts files with the same words: staged includes merged; a stage-only file is staged, not merged.
    const status = JSON.parse((await lakelet(['status', '-c', ws.configFile, '--json'])).stdout);
    expect(status.pipelines.map((p: Record<string, unknown>) => [p.pipeline, p.staged, p.merged, p.quarantined])).toEqual([
      ['p', 3, 3, 0],
      ['s', 1, 0, 0],
    ]);
    const help = await lakelet(['run', '--help']);
    expect(help.stdout).toMatch(/Exit codes:\n\s+0 .*\n\s+1 .*\n\s+2 .*\n\s+3 +finished, but some files were quarantined or some records rejected/);
    expect((await lakelet(['watch', '--help'])).stdout).toContain('Exit codes:');
  });

  it('requeue moves quarantined files back to landing (never over another delivery) and the log shows each file\'s history', async () => {
    // Python-style JSON (single quotes) is quarantined until json.repair is switched on.
    const strict = pipelineYaml({ format: 'json' });
    const fixed = pipelineYaml({ format: 'json', json: { repair: true } });
    const pythonic = `[{'id': 2, 'v': 'twenty'}]`;
    ws = new Workspace(strict);
    ws.land('landing/good.json', '[{"id": 1, "v": "ten"}]');
    const badPath = ws.land('landing/bad.json', pythonic);
    const landedAt = statSync(badPath).mtimeMs;
    expect((await lakelet(['run', '--once', '-c', ws.configFile, '--quiet'])).code).toBe(3);
    const quarantined = ws.files('quarantine').filter((f) => f.endsWith('/bad.json'));
    expect(quarantined).toHaveLength(1);

    expect((await lakelet(['requeue', '-c', ws.configFile])).code).toBe(2); // neither files nor --all
    const unknown = await lakelet(['requeue', 'nope.csv', '-c', ws.configFile]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^lakelet: nope\.csv is not a quarantined file of p/);

    // Another delivery named bad.json waits in landing: requeue refuses to overwrite it, and keeps the file in quarantine.
    writeFileSync(join(ws.dir, 'landing/bad.json'), '[{"id": 3, "v": "thirty"}]');
    const refused = await lakelet(['requeue', 'bad.json', '-c', ws.configFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/1 file left in quarantine: .*bad\.json.* already exists with other content; requeue never overwrites a landed file/);
    expect(ws.files('quarantine').filter((f) => f.endsWith('/bad.json'))).toEqual(quarantined);
    expect(readFileSync(join(ws.dir, 'landing/bad.json'), 'utf8')).toBe('[{"id": 3, "v": "thirty"}]');
    expect((await lakelet(['run', '--once', '-c', ws.configFile, '--quiet'])).code).toBe(0);

    // The cause fixed (json.repair on), the quarantined file goes back by its path in quarantine, with its original mtime.
    writeFileSync(ws.configFile, fixed);
    const requeued = await lakelet(['requeue', join(ws.dir, 'quarantine', quarantined[0]), '-c', ws.configFile]);
    expect(requeued.code, requeued.stderr).toBe(0);
    expect(requeued.stdout).toContain('lakelet requeue: 1 file moved back to landing');
    expect(ws.files('landing')).toEqual(['bad.json']);
    expect(readFileSync(join(ws.dir, 'landing/bad.json'), 'utf8')).toBe(pythonic);
    expect(statSync(join(ws.dir, 'landing/bad.json')).mtimeMs).toBe(landedAt);
    expect(ws.files('quarantine')).toEqual([`${quarantined[0]}.error.json`]);
    const errorDoc = JSON.parse(readFileSync(join(ws.dir, 'quarantine', `${quarantined[0]}.error.json`), 'utf8'));
    expect(errorDoc).toMatchObject({ kind: expect.any(String), requeued: [{ to: join(ws.dir, 'landing', 'bad.json') }] });
    let status = JSON.parse((await lakelet(['status', '-c', ws.configFile, '--json'])).stdout);
    expect(status.pipelines[0]).toMatchObject({ waiting: 1, merged: 2, quarantined: 0, requeued: 1 });

    const again = await lakelet(['run', '--once', '-c', ws.configFile, '--json', '--quiet']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).totals).toMatchObject({ files: 1, merged: 1, quarantined: 0 });
    expect((await ws.rows('tables/target', 'id')).map((r) => `${r.id}:${r.v}`)).toEqual(['1:ten', '2:twenty', '3:thirty']);

    // Counts by each file's latest state; the history of bad.json, oldest first (two deliveries of that name).
    status = JSON.parse((await lakelet(['status', '-c', ws.configFile, '--json', '--file', 'bad.json'])).stdout);
    expect(status.pipelines[0]).toMatchObject({ waiting: 0, staged: 3, merged: 3, quarantined: 0, requeued: 1 });
    expect(status.history.map((r: { status: string; records: string }) => `${r.status}:${r.records}`)).toEqual(['quarantined:0', 'merged:1', 'requeued:0', 'merged:1']);
    const nothing = await lakelet(['requeue', '--all', '-c', ws.configFile]);
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).toContain('0 files moved back');
  });

  it('requeue takes a file fixed in place in quarantine back with its new content (it used to say "moved" and move nothing)', async () => {
    ws = new Workspace(pipelineYaml({ format: 'json' }));
    ws.land('landing/bad.json', `[{'id': 2, 'v': 'twenty'}]`);
    expect((await lakelet(['run', '--once', '-c', ws.configFile, '--quiet'])).code).toBe(3);
    const [quarantined] = ws.files('quarantine').filter((f) => f.endsWith('/bad.json'));
    const fixedText = '[{"id": 2, "v": "twenty, fixed"}]';
    writeFileSync(join(ws.dir, 'quarantine', quarantined), fixedText);

    const requeued = await lakelet(['requeue', 'bad.json', '-c', ws.configFile]);
    expect(requeued.code, requeued.stderr).toBe(0);
    expect(requeued.stdout).toContain('bad.json (as edited in quarantine)');
    expect(requeued.stdout).toContain('1 file moved back to landing');
    expect(ws.files('landing')).toEqual(['bad.json']);
    expect(readFileSync(join(ws.dir, 'landing/bad.json'), 'utf8')).toBe(fixedText);
    expect(ws.files('quarantine')).toEqual([`${quarantined}.error.json`]);

    const again = await lakelet(['run', '--once', '-c', ws.configFile, '--json', '--quiet']);
    expect(again.code, again.stderr).toBe(0);
    expect((await ws.rows('tables/target', 'id')).map((r) => `${r.id}:${r.v}`)).toEqual(['2:twenty, fixed']);
    const status = JSON.parse((await lakelet(['status', '-c', ws.configFile, '--json', '--file', 'bad.json'])).stdout);
    expect(status.pipelines[0]).toMatchObject({ quarantined: 0, requeued: 1, merged: 1 });
    expect(status.history.map((r: { status: string }) => r.status)).toEqual(['quarantined', 'requeued', 'merged']);
  });

  it('a bad lakelet.yml fails with the key path and line:column', async () => {
    // The YAML spelled out: the error's line:column points into it.
    ws = new Workspace(`
pipelines:
  p:
    landing: ./landing
    format: xls
    stage: ./tables/stage
    target: ./tables/target
    key: id
    archive: ./archive
    quarantine: ./quarantine
`);
    const r = await lakelet(['run', '--once', '-c', ws.configFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/lakelet\.yml: invalid pipeline definition: 5:13 pipelines\.p\.format: Invalid option/);
    // A lakelet.yml that is not there is wrong usage, told with the two ways out.
    const missing = await lakelet(['run', '--once', '-c', join(ws.dir, 'nope.yml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yml: no such file: pass -c <your lakelet\.yml>, or write a starter one here with 'lakelet init'\n$/);
    // One misplaced indent: the first YAML error, not the dozen that follow from it.
    writeFileSync(ws.configFile, 'pipelines:\n  p:\n    landing: ./landing\n   format: csv\n    key: id\n    stage: ./s\n    target: ./t\n');
    const indent = await lakelet(['run', '--once', '-c', ws.configFile]);
    expect(indent.code).toBe(1);
    expect(indent.stderr.match(/All mapping items must start at the same column/g)).toHaveLength(1);
    expect(indent.stderr).toMatch(/4:1 \(root\): All mapping items must start at the same column at line 4, column 1 \(and \d+ more YAML errors after it, which usually follow from this one\)/);
  });

  it('demo builds a workspace, runs the pipeline, and shows the results', async () => {
    ws = new Workspace(yaml);
    const r = await lakelet(['demo', '--dir', join(ws.dir, 'demo')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 quarantined');
    expect(r.stdout).toContain('1 duplicate');
    expect(r.stdout).toMatch(/target tables\/accounts: 518 rows/);
    expect(r.stdout).toContain('ingestion log');
    // The table cuts the broken file's error; it is printed whole below it, what to do included.
    expect(r.stdout).toMatch(/^accounts_incremental_03_broken\.csv: csv: 1 of 2 records is bad, more than badRecordsLimit \(10%\); the first \(line 3\): expected 6 fields/m);
  });
});
