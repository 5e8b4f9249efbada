import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaTable } from '../../src/engine/table.ts';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';
import { lakelet } from '../support/cli.ts';

/** stage.properties / target.properties in lakelet.yml: set on create, and on an existing table by a metadata-only commit. */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const yaml = (targetProps: Record<string, unknown>, stageProps: Record<string, unknown> = {}) =>
  pipelineYaml({ stage: { path: './tables/stage', properties: stageProps }, target: { path: './tables/target', properties: targetProps }, orderBy: 'ts' });

async function tableOf(ws: Workspace, rel: string) {
  const t = await DeltaTable.forPath(join(ws.dir, rel));
  try {
    const s = await t.snapshot();
    const history = await t.history();
    return { configuration: s.configuration, protocol: s.protocol, version: s.version, operations: history.map((h) => h.operation).reverse() };
  } finally {
    t.close();
  }
}

describe('pipeline table properties', () => {
  it('a target created with delta.enableChangeDataFeed and delta.enableDeletionVectors records every MERGE for `lakelet changes`, updating by DV', async () => {
    ws = new Workspace(
      yaml({ 'delta.enableChangeDataFeed': true, 'delta.enableDeletionVectors': true, owner: 'orders-team' }, { 'delta.logRetentionDuration': 'interval 60 days' }),
    );
    ws.land('landing/a.csv', csv('id,v,ts', [[1, 'a', 1], [2, 'b', 1]]));
    const first = await lakelet(['run', '--once', '-c', ws.configFile, '--quiet']);
    expect(first.code, first.stderr).toBe(0);
    ws.land('landing/b.csv', csv('id,v,ts', [[2, 'B', 2], [3, 'c', 2]]));
    const second = await lakelet(['run', '--once', '-c', ws.configFile, '--quiet']);
    expect(second.code, second.stderr).toBe(0);

    const target = await tableOf(ws, 'tables/target');
    expect(target.configuration).toEqual({ 'delta.enableChangeDataFeed': 'true', 'delta.enableDeletionVectors': 'true', owner: 'orders-team' });
    expect(target.protocol.readerFeatures).toContain('deletionVectors');
    // The update of id 2 marked its old row in a DV on the first file instead of rewriting it.
    const t = await DeltaTable.forPath(join(ws.dir, 'tables/target'));
    try {
      expect((await t.snapshot()).files.filter((f) => f.deletionVector).map((f) => f.deletionVector!.cardinality)).toEqual([1]);
    } finally {
      t.close();
    }
    expect((await tableOf(ws, 'tables/stage')).configuration).toEqual({ 'delta.logRetentionDuration': 'interval 60 days' });

    const changes = await lakelet(['changes', join(ws.dir, 'tables/target'), '--from-version', '0', '--format', 'ndjson']);
    expect(changes.code, changes.stderr).toBe(0);
    const rows = changes.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .map((r) => `${r._change_type}:${r.id}:${r.v}`)
      .sort();
    expect(rows).toEqual(['insert:1:a', 'insert:2:b', 'insert:3:c', 'update_postimage:2:B', 'update_preimage:2:b']);
  });

  it('properties added to lakelet.yml later reach the existing tables in one metadata-only commit at the next run, once', async () => {
    ws = new Workspace(yaml({}));
    ws.land('landing/a.csv', csv('id,v,ts', [[1, 'a', 1]]));
    expect((await lakelet(['run', '--once', '-c', ws.configFile, '--quiet'])).code).toBe(0);
    const before = await tableOf(ws, 'tables/target');
    expect(before.configuration).toEqual({});

    writeFileSync(ws.configFile, yaml({ 'delta.enableChangeDataFeed': true }, { 'delta.checkpointInterval': 5 }));
    const run = await lakelet(['run', '--once', '-c', ws.configFile, '--log-format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const events = run.stderr.trim().split('\n').map((l) => JSON.parse(l) as { event: string; table?: string; changed?: unknown });
    expect(events.filter((e) => e.event === 'table.properties-set').map((e) => [e.table, e.changed])).toEqual([
      ['stage', { 'delta.checkpointInterval': { to: '5' } }],
      ['target', { 'delta.enableChangeDataFeed': { to: 'true' } }],
    ]);
    const after = await tableOf(ws, 'tables/target');
    expect(after.configuration).toEqual({ 'delta.enableChangeDataFeed': 'true' });
    expect(after.protocol.minWriterVersion).toBe(4);
    expect(after.operations.slice(before.operations.length)).toEqual(['SET TBLPROPERTIES']);
    expect((await tableOf(ws, 'tables/stage')).configuration).toEqual({ 'delta.checkpointInterval': '5' });

    // Nothing to change any more: no commit, no event.
    const again = await lakelet(['run', '--once', '-c', ws.configFile, '--log-format', 'json']);
    expect(again.stderr).not.toMatch(/table\.properties-set/);
    expect((await tableOf(ws, 'tables/target')).version).toBe(after.version);

    // Changes from the enabling version on.
    ws.land('landing/b.csv', csv('id,v,ts', [[1, 'A', 2]]));
    expect((await lakelet(['run', '--once', '-c', ws.configFile, '--quiet'])).code).toBe(0);
    const changes = await lakelet(['changes', join(ws.dir, 'tables/target'), '--from-version', String(after.version), '--format', 'ndjson']);
    expect(changes.code, changes.stderr).toBe(0);
    expect(changes.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { _change_type: string })._change_type).sort()).toEqual(['update_postimage', 'update_preimage']);
  });

  it('a bad property value stops the run with a message naming the table and the property', async () => {
    ws = new Workspace(yaml({}));
    ws.land('landing/a.csv', csv('id,v,ts', [[1, 'a', 1]]));
    expect((await lakelet(['run', '--once', '-c', ws.configFile, '--quiet'])).code).toBe(0);
    writeFileSync(ws.configFile, yaml({ 'delta.enableChangeDataFeed': 'sometimes' }));
    const run = await lakelet(['run', '--once', '-c', ws.configFile, '--quiet']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/tables\/target: table property delta\.enableChangeDataFeed must be true or false, not 'sometimes'/);
  });
});
