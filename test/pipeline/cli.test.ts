import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { csv, lakelet, Workspace } from './workspace.ts';

/** run / status / demo through the real binary: exit codes, summaries, JSON logs, config errors. */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const yaml = `
pipelines:
  p:
    landing: ./landing
    format: csv
    stage: ./tables/stage
    target: ./tables/target
    key: id
    archive: ./archive
    quarantine: ./quarantine
`;

describe('lakelet run / status / demo', () => {
  it('run --once prints a summary (text and --json) and JSON logs on stderr; status shows counts and recent files', async () => {
    ws = new Workspace(yaml);
    ws.land('landing/a.csv', csv('id,v', [[1, 'a'], [2, 'b']]));
    ws.land('landing/bad.csv', 'id,v\n1\n');
    const text = await lakelet(['run', '--once', '-c', ws.configFile, '--log-format', 'json']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^lakelet run: 1 batch, 2 files, 1 staged, 1 quarantined, 0 duplicates; rows: 2 staged, 2 inserted, 0 updated, 0 deleted/);
    const events = text.stderr.trim().split('\n').map((l) => JSON.parse(l) as { event: string; level: string });
    expect(events.map((e) => e.event)).toEqual(['batch.planned', 'file.quarantined', 'batch.staged', 'batch.merged', 'batch.done']);
    expect(events[1].level).toBe('warn');

    ws.land('landing/a.csv', csv('id,v', [[1, 'a'], [2, 'b']]));
    const json = await lakelet(['run', '--once', '-c', ws.configFile, '--json', '--quiet']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).totals).toMatchObject({ files: 1, duplicates: 1 });
    expect(json.stderr).toBe('');

    const status = await lakelet(['status', '-c', ws.configFile, '--json']);
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout);
    expect(s.pipelines[0]).toMatchObject({ pipeline: 'p', waiting: 0, batches: 2, unfinished: [], merged: 1, quarantined: 1, duplicate: 1, records: 2 });
    expect(s.recent.map((r: { file_name: string; status: string }) => `${r.file_name}:${r.status}`)).toEqual(['a.csv:duplicate', 'a.csv:merged', 'bad.csv:quarantined']);
    const statusText = await lakelet(['status', '-c', ws.configFile]);
    expect(statusText.stdout).toContain('recent files:');
    expect(statusText.stdout).toMatch(/bad\.csv\s+quarantined/);
  });

  it('a bad lakelet.yml fails with the key path and line:column', async () => {
    ws = new Workspace(yaml.replace('format: csv', 'format: xls'));
    const r = await lakelet(['run', '--once', '-c', ws.configFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/lakelet\.yml: invalid pipeline definition: 5:13 pipelines\.p\.format: Invalid option/);
    const missing = await lakelet(['run', '--once', '-c', join(ws.dir, 'nope.yml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read the file');
  });

  it('demo builds a workspace, runs the pipeline, and shows the results', async () => {
    ws = new Workspace(yaml);
    const r = await lakelet(['demo', '--dir', join(ws.dir, 'demo')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 quarantined');
    expect(r.stdout).toContain('1 duplicate');
    expect(r.stdout).toMatch(/target tables\/accounts: 518 rows/);
    expect(r.stdout).toContain('ingestion log');
  });
});
