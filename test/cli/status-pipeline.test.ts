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
