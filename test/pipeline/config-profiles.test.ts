// `profiles:` in lakelet.yml (src/pipeline/profiles.ts): the same pipelines, other locations; and
// credentials refused in lakelet.yml (src/pipeline/config-credentials.ts).
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, parseConfig } from '../../src/pipeline/config.ts';
import { tempDir } from '../support/temp.ts';
import { ConfigError } from '../../src/pipeline/errors.ts';
import { STARTER_CONFIG } from '../../src/pipeline/starter-config.ts';

const base = `
stateDir: ./state
pipelines:
  accounts:
    landing: ./landing/accounts
    format: csv
    stage: { path: ./tables/stage_accounts, retain: truncate-after-merge }
    target: ./tables/accounts
    key: account_number
    orderBy: last_modified
    archive: ./archive/accounts
    quarantine: /abs/quarantine/accounts
  uploads:
    landing: ./landing/uploads
    format: ndjson
    stage: ./tables/uploads
    archive: ./archive/uploads
    quarantine: ./quarantine/uploads
`;

const withProfiles = (profiles: string) => `${base}profiles:\n${profiles}`;

function issues(yaml: string, profile?: string): { path: string; line?: number; message: string }[] {
  try {
    parseConfig(yaml, '/w/lakelet.yml', profile === undefined ? {} : { profile });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => ({ path: i.path, line: i.position?.line, message: i.message }));
  }
  throw new Error('expected a ConfigError');
}

/** 1-based line of the first line containing `text`. */
const lineOf = (yaml: string, text: string) => yaml.split('\n').findIndex((l) => l.includes(text)) + 1;

describe('profiles', () => {
  const gcp = withProfiles(`
  gcp:
    root: gs://acme-lake/prod
    pipelines:
      accounts: { landing: gs://acme-uploads/accounts, archive: gs://acme-archive/accounts }
  staging:
    stateDir: /var/lakelet/state
    pipelines:
      uploads: { archive: ./other }
`);

  it('local (the default) is the locations as written, with or without a profiles: section', () => {
    for (const yaml of [base, gcp]) {
      for (const c of [parseConfig(yaml, '/w/lakelet.yml'), parseConfig(yaml, '/w/lakelet.yml', { profile: 'local' })]) {
        expect(c.profile).toBe('local');
        expect(c.stateDir).toBe('/w/state');
        expect(c.ingestionLog).toBe('/w/state/ingestion_log');
        expect(c.pipelines.map((p) => [p.landing, p.stage, p.target, p.archive, p.quarantine])).toEqual([
          ['/w/landing/accounts', '/w/tables/stage_accounts', '/w/tables/accounts', '/w/archive/accounts', '/abs/quarantine/accounts'],
          ['/w/landing/uploads', '/w/tables/uploads', undefined, '/w/archive/uploads', '/w/quarantine/uploads'],
        ]);
      }
    }
  });

  it('root: relative locations (stateDir and the ingestion log included) resolve under it; overrides win; absolute paths stay', () => {
    const c = parseConfig(gcp, '/w/lakelet.yml', { profile: 'gcp' });
    expect(c.profile).toBe('gcp');
    expect(c.stateDir).toBe('gs://acme-lake/prod/state');
    expect(c.ingestionLog).toBe('gs://acme-lake/prod/state/ingestion_log');
    const [accounts, uploads] = c.pipelines;
    expect(accounts).toMatchObject({
      landing: 'gs://acme-uploads/accounts',
      archive: 'gs://acme-archive/accounts',
      stage: 'gs://acme-lake/prod/tables/stage_accounts',
      target: 'gs://acme-lake/prod/tables/accounts',
      quarantine: '/abs/quarantine/accounts',
      stateDir: 'gs://acme-lake/prod/state/accounts',
      // Everything that is not a location is the pipeline's own, whatever the profile.
      key: ['account_number'],
      orderBy: 'last_modified',
      stageRetain: 'truncate-after-merge',
    });
    expect(uploads).toMatchObject({ landing: 'gs://acme-lake/prod/landing/uploads', stage: 'gs://acme-lake/prod/tables/uploads', quarantine: 'gs://acme-lake/prod/quarantine/uploads' });
    const local = parseConfig(gcp, '/w/lakelet.yml');
    const strip = (p: object) => Object.fromEntries(Object.entries(p).filter(([k]) => !['landing', 'archive', 'quarantine', 'stage', 'target', 'stateDir'].includes(k)));
    expect(c.pipelines.map(strip)).toEqual(local.pipelines.map(strip));
  });

  it('without root, overrides resolve against the lakelet.yml folder and the rest stays; the default stateDir moves under a root', () => {
    const c = parseConfig(gcp, '/w/lakelet.yml', { profile: 'staging' });
    expect(c.stateDir).toBe('/var/lakelet/state');
    expect(c.pipelines[1]).toMatchObject({ landing: '/w/landing/uploads', archive: '/w/other', stateDir: '/var/lakelet/state/uploads' });
    const noState = parseConfig(gcp.replace('stateDir: ./state\n', ''), '/w/lakelet.yml', { profile: 'gcp' });
    expect(noState.stateDir).toBe('gs://acme-lake/prod/.lakelet');
    expect(noState.ingestionLog).toBe('gs://acme-lake/prod/.lakelet/ingestion_log');
  });

  it('a profile that changes a non-location key is an error naming the key and its line', () => {
    const yaml = withProfiles(`
  gcp:
    root: gs://acme-lake/prod
    format: parquet
    pipelines:
      accounts:
        landing: gs://acme-uploads/accounts
        orderBy: updated_at
        stage: { path: gs://acme-lake/stage, retain: forever }
`);
    expect(issues(yaml, 'gcp')).toEqual([
      { path: 'profiles.gcp.format', line: lineOf(yaml, 'format: parquet'), message: expect.stringMatching(/^'format' is not a location: a profile changes only where things are \(root, stateDir, ingestionLog, warehouse, bigquery, pipelines\)/) },
      { path: 'profiles.gcp.pipelines.accounts.orderBy', line: lineOf(yaml, 'orderBy: updated_at'), message: expect.stringMatching(/^'orderBy' is not a location.*\(landing, archive, quarantine, stage, target\).*change 'orderBy' in the pipeline itself/) },
      { path: 'profiles.gcp.pipelines.accounts.stage.retain', line: lineOf(yaml, 'retain: forever'), message: expect.stringMatching(/^'retain' is not a location/) },
    ]);
    // Checked when the profile is chosen: the local run of the same file is not blocked by it.
    expect(parseConfig(yaml, '/w/lakelet.yml').pipelines).toHaveLength(2);
  });

  it('a profile may move the tables into BigQuery (warehouse, bigquery: where stage and target live); a bad warehouse is an error at the profile\'s line', () => {
    const yaml = withProfiles(`
  bq:
    warehouse: bigquery
    bigquery: { project: my-project, dataset: lake, location: EU }
  wrong:
    warehouse: snowflake
`);
    expect(parseConfig(yaml, '/w/lakelet.yml')).toMatchObject({ warehouse: 'delta' });
    expect(parseConfig(yaml, '/w/lakelet.yml').bigquery).toBeUndefined();
    const bq = parseConfig(yaml, '/w/lakelet.yml', { profile: 'bq' });
    expect(bq).toMatchObject({ warehouse: 'bigquery', bigquery: { project: 'my-project', dataset: 'lake', location: 'EU' } });
    // Everything else is the pipeline as written.
    expect(bq.pipelines.map((p) => [p.name, p.key, p.orderBy, p.target])).toEqual(parseConfig(yaml, '/w/lakelet.yml').pipelines.map((p) => [p.name, p.key, p.orderBy, p.target]));
    expect(issues(yaml, 'wrong')).toEqual([expect.objectContaining({ path: 'profiles.wrong.warehouse', line: lineOf(yaml, 'warehouse: snowflake') })]);
  });

  it('a typo, a pipeline the file does not define, or a location leaving the root are errors at their line', () => {
    const yaml = withProfiles(`
  gcp:
    root: gs://acme-lake/prod
    stateDri: gs://x/state
    pipelines:
      acounts: { landing: gs://acme-uploads/accounts }
      uploads: { target: gs://acme-lake/uploads }
`);
    expect(issues(yaml, 'gcp')).toEqual([
      { path: 'profiles.gcp.stateDri', line: lineOf(yaml, 'stateDri'), message: "unknown key 'stateDri'; a profile may set root, stateDir, ingestionLog, warehouse, bigquery, pipelines" },
      { path: 'profiles.gcp.pipelines.acounts', line: lineOf(yaml, 'acounts'), message: "no pipeline 'acounts' in pipelines: (defined: accounts, uploads)" },
      { path: 'profiles.gcp.pipelines.uploads.target', line: lineOf(yaml, 'gs://acme-lake/uploads'), message: "pipeline 'uploads' has no target: a profile may move a target, not add one (add it to the pipeline itself)" },
    ]);
    const escaping = withProfiles('  gcp: { root: gs://acme-lake/prod }\n').replace('archive: ./archive/uploads', 'archive: ../archive/uploads');
    expect(issues(escaping, 'gcp')).toEqual([
      { path: 'pipelines.uploads.archive', line: lineOf(escaping, '../archive/uploads'), message: expect.stringContaining("'../archive/uploads' leaves the profile's root (gs://acme-lake/prod)") },
    ]);
  });

  it('a location a profile sets is checked like any other, and reported at the profile', () => {
    const yaml = withProfiles(`
  gcp:
    pipelines:
      accounts: { landing: "gs:/acme-uploads/accounts" }
  s3:
    root: s3://bucket/prefix
`);
    expect(issues(yaml, 'gcp')).toEqual([
      { path: 'profiles.gcp.pipelines.accounts.landing', line: lineOf(yaml, 'gs:/acme-uploads'), message: expect.stringContaining("is not a valid URI; write gs://acme-uploads/accounts") },
    ]);
    expect(issues(yaml, 's3')).toEqual([{ path: 'profiles.s3.root', line: lineOf(yaml, 's3://'), message: expect.stringContaining("unknown storage scheme 's3:'") }]);
  });

  it('loadConfig takes the profile from LAKELET_PROFILE when none is given (what a Cloud Function deployment sets)', () => {
    const tmp = tempDir('lakelet-profile-');
    const saved = process.env.LAKELET_PROFILE;
    try {
      const file = join(tmp.dir, 'lakelet.yml');
      writeFileSync(file, gcp);
      process.env.LAKELET_PROFILE = 'gcp';
      expect(loadConfig(file).pipelines[0].landing).toBe('gs://acme-uploads/accounts');
      expect(loadConfig(file, { profile: 'local' }).pipelines[0].landing).toBe(join(tmp.dir, 'landing/accounts'));
      delete process.env.LAKELET_PROFILE;
      expect(loadConfig(file).profile).toBe('local');
    } finally {
      if (saved === undefined) delete process.env.LAKELET_PROFILE;
      else process.env.LAKELET_PROFILE = saved;
      tmp.cleanup();
    }
  });

  it('an unknown profile lists the known ones', () => {
    expect(issues(withProfiles('  gcp: { root: gs://acme-lake/prod }\n  dev: {}\n'), 'gpc')).toEqual([
      { path: 'profiles', line: lineOf(withProfiles(''), 'profiles:'), message: "unknown profile 'gpc' (--profile / LAKELET_PROFILE); this file defines: local, gcp, dev" },
    ]);
    expect(issues(base, 'gcp')).toEqual([
      { path: 'profiles', line: undefined, message: "unknown profile 'gcp' (--profile / LAKELET_PROFILE); this file defines: local (add a 'profiles:' section to define more)" },
    ]);
  });
});

describe('the starter lakelet.yml', () => {
  it("its commented profiles example, uncommented, is a valid gcp profile", () => {
    const at = STARTER_CONFIG.indexOf('\n# profiles:\n') + 1;
    expect(at).toBeGreaterThan(0);
    const yaml = STARTER_CONFIG.slice(0, at) + STARTER_CONFIG.slice(at).replace(/^# /gm, '');
    const c = parseConfig(yaml, '/w/lakelet.yml', { profile: 'gcp' });
    expect(c.pipelines[0]).toMatchObject({ landing: 'gs://my-uploads/orders', archive: 'gs://my-archive/orders', stage: expect.stringMatching(/^gs:\/\/my-lake\/prod\//) });
    expect(c.stateDir).toBe('gs://my-lake/prod/.lakelet');
  });
});

describe('credentials in lakelet.yml', () => {
  it('are refused wherever they are written, pointing at Application Default Credentials', () => {
    const yaml = `credentials: ./key.json\n${base.replace('    format: ndjson', '    format: ndjson\n    keyFile: /secrets/sa.json')}profiles:\n  gcp: { root: gs://acme-lake/prod, service_account: x@y.iam.gserviceaccount.com }\n`;
    const found = issues(yaml, 'gcp');
    expect(found.map((i) => [i.path, i.line])).toEqual([
      ['credentials', 1],
      ['pipelines.uploads.keyFile', lineOf(yaml, 'keyFile')],
      ['profiles.gcp.service_account', lineOf(yaml, 'service_account')],
    ]);
    for (const i of found) {
      expect(i.message).toContain('credentials are not read from lakelet.yml');
      expect(i.message).toContain('gcloud auth application-default login');
      expect(i.message).toContain('GOOGLE_APPLICATION_CREDENTIALS');
    }
    // Whatever the profile: the file itself must not hold them.
    expect(issues(yaml).map((i) => i.path)).toContain('credentials');
  });
});
