import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/pipeline/errors.ts';
import { parseConfig } from '../../src/pipeline/config.ts';

function issues(yaml: string): { path: string; line?: number; column?: number; message: string }[] {
  try {
    parseConfig(yaml, '/w/lakelet.yml');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => ({ path: i.path, line: i.position?.line, column: i.position?.column, message: i.message }));
  }
  throw new Error('expected a ConfigError');
}

const valid = `
stateDir: ./state
pipelines:
  accounts:
    landing: ./landing/accounts
    pattern: "*.csv"
    format: csv
    csv: { delimiter: ";", header: true, nullString: "NA", timestampFormat: "%Y-%m-%d %H:%M:%S" }
    stage: ./tables/stage_accounts
    target: /abs/accounts
    key: account_number
    orderBy: last_modified
    partitionBy: region
    transforms:
      created_ms: { epoch: millis, rename: created_at }
    schemaDrift: rescue
    deletes: { column: op, values: [D] }
    archive: ./archive
    quarantine: ./quarantine
    batch: { maxFiles: 5, maxBytes: 64MiB }
`;

describe('pipeline definition', () => {
  it('resolves paths against the YAML file and fills defaults', () => {
    const c = parseConfig(valid, '/w/lakelet.yml');
    expect(c.stateDir).toBe('/w/state');
    expect(c.ingestionLog).toBe('/w/state/ingestion_log');
    const p = c.pipelines[0];
    expect(p).toMatchObject({
      name: 'accounts',
      landing: '/w/landing/accounts',
      stage: '/w/tables/stage_accounts',
      target: '/abs/accounts',
      key: ['account_number'],
      partitionBy: ['region'],
      batch: { maxFiles: 5, maxBytes: 64 * 1024 * 1024 },
      stateDir: '/w/state/accounts',
      json: { repair: false },
    });
  });

  it('names the key path and line:column of each problem', () => {
    const bad = valid
      .replace('format: csv', 'format: xlsx')
      .replace('maxFiles: 5', 'maxFiles: 0')
      .replace('schemaDrift: rescue', 'schemaDrift: rescue\n    colour: blue')
      .replace('epoch: millis', 'epoch: hours');
    expect(issues(bad)).toEqual([
      { path: 'pipelines.accounts.format', line: 7, column: 13, message: expect.stringContaining('"csv"') },
      { path: 'pipelines.accounts.transforms.created_ms.epoch', line: 15, column: 28, message: expect.any(String) },
      { path: 'pipelines.accounts.batch.maxFiles', line: 21, column: 24, message: expect.any(String) },
      { path: 'pipelines.accounts.colour', line: 17, column: 5, message: "unknown key 'colour'" },
    ].sort((a, b) => 0 * (a.line - b.line)));
  });

  it('a missing required key is reported at its parent; YAML syntax errors have positions', () => {
    expect(issues('pipelines:\n  a:\n    landing: x\n    format: csv\n')).toEqual(
      expect.arrayContaining([{ path: 'pipelines.a.stage', line: 3, column: 5, message: expect.any(String) }]),
    );
    expect(issues('pipelines:\n  a: [1, 2\n')[0]).toMatchObject({ line: expect.any(Number) });
    expect(issues('pipelines:\n  bad name:\n    landing: x\n')).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'pipelines.bad name', line: 2, column: 3 })]));
  });

  it('checks across pipelines: a shared landing folder needs json.path; archive outside landing; target needs a key', () => {
    const two = `
pipelines:
  a: { landing: ./in, format: csv, stage: ./s1, archive: ./in/archive, quarantine: ./q }
  b: { landing: ./in, format: csv, stage: ./s2, target: ./t, archive: ./a, quarantine: ./q }
`;
    const found = issues(two);
    expect(found).toEqual([{ path: 'pipelines.b.key', line: 4, column: 6, message: expect.stringContaining('needs a key') }]);
    const fixed = two.replace('target: ./t, ', '');
    expect(issues(fixed).map((i) => `${i.path} ${i.line}:${i.column}`)).toEqual(['pipelines.a.landing 3:17', 'pipelines.a.archive 3:58', 'pipelines.b.landing 4:17']);
  });

  it('refuses a target that is the stage table itself, and a bad-records share over 100%', () => {
    const one = (extra: string) => `
pipelines:
  p: { landing: ./in, format: csv, stage: ./tables/s, key: id, archive: ./a, quarantine: ./q${extra} }
`;
    expect(issues(one(', target: ./tables/s'))).toEqual([{ path: 'pipelines.p.target', line: 3, column: expect.any(Number), message: expect.stringContaining('is the stage table too') }]);
    expect(issues(one(", target: ./tables/t, badRecordsLimit: '150%'")).map((i) => `${i.path}: ${i.message}`)).toEqual([expect.stringMatching(/^pipelines\.p\.badRecordsLimit: .*at most 100%/)]);
    expect(parseConfig(one(", target: ./tables/t, badRecordsLimit: '100%'"), '/w/lakelet.yml').pipelines[0].badRecordsLimit).toBe(1);
  });
});

describe('locations', () => {
  const at = (landing: string, archive = './archive') => `
pipelines:
  p:
    landing: ${landing}
    format: csv
    stage: ./stage
    archive: ${archive}
    quarantine: ./quarantine
`;
  it('a malformed URI or an unknown scheme is an error at its line, never a local folder named gs:', () => {
    expect(issues(at('gs:/my-bucket/landing'))).toEqual([
      { path: 'pipelines.p.landing', line: 4, column: 14, message: "'gs:/my-bucket/landing' is not a valid URI; write gs://my-bucket/landing" },
    ]);
    expect(issues(at('./landing', 's3://bucket/archive'))[0]).toMatchObject({ path: 'pipelines.p.archive', message: expect.stringContaining("unknown storage scheme 's3:'") });
    expect(issues(at('gs://')) [0]).toMatchObject({ path: 'pipelines.p.landing', message: expect.stringContaining('does not name a bucket') });
  });

  it('URIs are kept as written; paths are resolved against the file', () => {
    const config = parseConfig(at('gs://my-bucket/landing', 'file:///data/archive'), '/w/lakelet.yml');
    expect(config.pipelines[0]).toMatchObject({ landing: 'gs://my-bucket/landing', archive: 'file:///data/archive', quarantine: '/w/quarantine', stage: '/w/stage' });
  });
});
