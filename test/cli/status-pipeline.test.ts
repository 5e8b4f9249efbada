import { afterEach, describe, expect, it } from 'vitest';
import { csv, Workspace } from '../support/workspace.ts';
import { lakeletYaml, PIPELINE_DEFAULTS } from '../support/pipeline-yaml.ts';
import { lakelet } from '../support/cli.ts';

/** `lakelet status -p/--pipeline` narrows to some pipelines, as `run` and `requeue` take them. */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const pipeline = (name: string) => ({
  ...PIPELINE_DEFAULTS,
  landing: `./landing/${name}`,
  stage: `./tables/${name}_stage`,
  target: `./tables/${name}`,
  archive: `./archive/${name}`,
  quarantine: `./quarantine/${name}`,
});

describe('lakelet status -p', () => {
  it('shows only the pipelines named (and their files); an unknown name is a usage error listing the real ones', async () => {
    ws = new Workspace(lakeletYaml({ a: pipeline('a'), b: pipeline('b'), c: pipeline('c') }, { stateDir: './state' }));
    ws.land('landing/a/1.csv', csv('id,v', [[1, 'x']]));
    ws.land('landing/b/2.csv', csv('id,v', [[2, 'y'], [3, 'z']]));
    ws.land('landing/c/3.csv', csv('id,v', [[4, 'w']]));
    expect((await ws.run()).totals).toMatchObject({ merged: 3 });

    const one = await lakelet(['status', '-c', ws.configFile, '-p', 'b', '--json']);
    expect(one.code, one.stderr).toBe(0);
    const s = JSON.parse(one.stdout);
    expect(s.pipelines.map((p: { pipeline: string; records: number }) => [p.pipeline, p.records])).toEqual([['b', 2]]);
    expect(s.recent.map((r: { file_name: string }) => r.file_name)).toEqual(['2.csv']);

    const two = await lakelet(['status', '-c', ws.configFile, '--pipeline', 'c,a']);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stdout).toMatch(/^a\s+0 \(0 B\)\s+1\s/m);
    expect(two.stdout).toMatch(/^c\s+0 \(0 B\)\s+1\s/m);
    expect(two.stdout).not.toMatch(/^b\s/m);
    expect(two.stdout).not.toContain('2.csv');

    const unknown = await lakelet(['status', '-c', ws.configFile, '-p', 'a,nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no pipeline named nope in .*lakelet\.yml \(it has a, b, c\)/);
  });
});

describe('a run that takes nothing says why when it looks like a mistake', () => {
  it('files the pattern leaves out and a landing folder that does not exist are warned about (each once), shown by status, and left alone', async () => {
    ws = new Workspace(lakeletYaml({ a: { ...pipeline('a'), pattern: '*.csv' }, gone: pipeline('gone') }, { stateDir: './state' }));
    ws.land('landing/a/1.csv', csv('id,v', [[1, 'x']]));
    // Upper-case extension, another extension, and names that are expected to be skipped quietly.
    ws.land('landing/a/ORDERS.CSV', csv('id,v', [[2, 'y']]));
    ws.land('landing/a/notes.txt', 'not data\n');
    ws.land('landing/a/3.csv.tmp', csv('id,v', [[3, 'z']]));
    ws.land('landing/a/.hidden.csv', csv('id,v', [[4, 'w']]));
    const run = await lakelet(['run', '--once', '-c', ws.configFile, '--log-format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const events = run.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    const unmatched = events.filter((e) => e.event === 'file.unmatched');
    expect(unmatched.map((e) => [e.level, e.pipeline, e.file])).toEqual([
      ['warn', 'a', 'ORDERS.CSV'],
      ['warn', 'a', 'notes.txt'],
    ]);
    expect(unmatched[0].reason).toMatch(/matches pattern '\*\.csv' only when case is ignored/);
    expect(unmatched[1].reason).toMatch(/does not match pattern '\*\.csv'.*it is left where it is/);
    const missing = events.filter((e) => e.event === 'landing.missing');
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({ level: 'warn', pipeline: 'gone' });
    expect(missing[0].landing).toMatch(/landing\/gone$/);
    // The good file went in; the others are where they were.
    expect((await ws.rows('tables/a', 'id')).map((r) => Number(r.id))).toEqual([1]);
    expect(ws.files('landing/a').sort()).toEqual(['.hidden.csv', '3.csv.tmp', 'ORDERS.CSV', 'notes.txt']);

    const status = await lakelet(['status', '-c', ws.configFile, '--json']);
    const s = JSON.parse(status.stdout);
    expect(s.pipelines.map((p: { pipeline: string; unmatched: string[]; landingMissing?: boolean }) => [p.pipeline, p.unmatched, p.landingMissing ?? false])).toEqual([
      ['a', ['ORDERS.CSV', 'notes.txt'], false],
      ['gone', [], true],
    ]);
    const text = await lakelet(['status', '-c', ws.configFile]);
    expect(text.stdout).toMatch(/^note: a: 2 files in landing match no pattern '\*\.csv' and are not taken: ORDERS\.CSV, notes\.txt$/m);
    expect(text.stdout).toMatch(/^note: gone: the landing folder \S+landing\/gone does not exist: check landing: in \S+lakelet\.yml$/m);
  });
});
