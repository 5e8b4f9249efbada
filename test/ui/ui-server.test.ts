import { request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUiServer, type UiServer } from '../../src/ui/server.ts';
import { UiBindError, UiRequestError } from '../../src/ui/errors.ts';
import { assertBindAllowed, isLoopback } from '../../src/ui/bind.ts';
import { staticFile } from '../../src/ui/static-files.ts';
import { UI_FIXTURE, uiWorkspace } from '../support/ui-workspace.ts';
import type { Workspace } from '../support/workspace.ts';
import { systemClock } from '../../src/adapters/clock.ts';
import { loadConfig } from '../../src/pipeline/config.ts';
import { silentReporter } from '../../src/pipeline/reporter.ts';
import { syncSources } from '../../src/pipeline/sync/sync-runner.ts';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
import { openWarehouse } from '../../src/warehouse/open-warehouse.ts';
import { postgresAvailable, usePostgres } from '../support/db-servers.ts';
import { requirePeer } from '../support/peers.ts';

/**
 * `lakelet ui`'s server in-process over a workspace the real pipeline made: what the API answers,
 * that it pages and filters in DuckDB, that nothing writes, and that no request reaches a file
 * outside the workspace. Requests go out raw (node:http), so paths are sent exactly as written
 * (fetch would normalise `..` away before the server sees it).
 */
let ws: Workspace;
let server: UiServer;
// The pipelines page's database sources: a real PostgreSQL synced by `lakelet sync`'s own code.
const pgMode = requirePeer('postgres', postgresAvailable);
const pg = usePostgres();

beforeAll(async () => {
  ws = await uiWorkspace();
  // A "report" that is a symlink to a folder outside the results folder: never listed or served.
  const outside = mkdtempSync(join(tmpdir(), 'lakelet-outside-'));
  writeFileSync(join(outside, 'results.json'), JSON.stringify({ startedAt: '2099-01-01T00:00:00Z', scenarios: [] }));
  symlinkSync(outside, join(ws.dir, 'benchmarks', 'results', 'escape'));
  server = await startUiServer({ configFile: ws.configFile });
});

afterAll(async () => {
  await server?.close();
  ws?.cleanup();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(path: string, options: { method?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: options.method ?? 'GET', headers: options.host ? { host: options.host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function json(path: string): Promise<any> {
  const r = await raw(path);
  expect(r.status, `${path}: ${r.body}`).toBe(200);
  return JSON.parse(r.body);
}

const rowsOf = (page: { columns: { name: string }[]; rows: unknown[][] }) => page.rows.map((r) => Object.fromEntries(page.columns.map((c, i) => [c.name, r[i]])));
const filters = (f: unknown) => encodeURIComponent(JSON.stringify(f));

describe('lakelet ui API', () => {
  it('pipelines: waiting files, counts by status, runs with their summaries', async () => {
    const [p] = await json('/api/pipelines');
    expect(p).toMatchObject({ name: 'orders', waiting: { count: 1, files: [{ key: UI_FIXTURE.waiting }] }, batches: { done: 3, unfinished: [] } });
    expect(p.files).toMatchObject({ staged: 3, merged: 3, quarantined: 1, stillQuarantined: 1, duplicate: 0 });
    expect(p.runs.map((r: any) => [r.seq, r.files, r.quarantined, r.records, r.rowsInserted, r.rowsUpdated])).toEqual([
      [3, 1, 0, 20, 20, 0],
      [2, 1, 0, 2, 1, 1],
      [1, 2, 1, 5, 5, 0],
    ]);
  });

  it('files: the ingestion log searched and paged; a quarantined file shows its error report and how to requeue it', async () => {
    const all = await json('/api/files');
    expect(all.total).toBe(4);
    const found = await json('/api/files?q=BROK');
    expect(rowsOf(found).map((r) => [r.file_name, r.status])).toEqual([[UI_FIXTURE.quarantined, 'quarantined']]);
    expect((await json('/api/files?status=merged&limit=2')).rows).toHaveLength(2);

    const d = await json(`/api/file?pipeline=orders&file=${UI_FIXTURE.quarantined}`);
    expect(d.batches).toHaveLength(1);
    expect(d.batches[0]).toMatchObject({ batch: 1, outcome: 'quarantine', error: { kind: 'csv' }, quarantine: { stillThere: true, errorReport: { file: UI_FIXTURE.quarantined, line: 2 } } });
    expect(d.batches[0].error.message).toMatch(/expected 4 fields .* but found 2/);
    expect(d.requeue.command).toBe(`lakelet requeue -c ${ws.configFile} -p orders ${UI_FIXTURE.quarantined}`);

    const mixed = await json(`/api/file?pipeline=orders&file=${UI_FIXTURE.mixed}`);
    expect(mixed.requeue).toBeUndefined();
    expect(mixed.batches[0].badRecords.records).toEqual([expect.objectContaining({ line: 7, kind: 'cast' })]);
  });

  it('tables: describe, pages that do not overlap, time travel, filters, the change feed, sizes per version', async () => {
    const d = await json('/api/tables/orders.target');
    expect(d).toMatchObject({ version: 3, changeDataFeed: true, partitionColumns: [] });
    expect(d.schema.map((c: any) => c.name)).toEqual(['id', 'name', 'amount', 'region']);

    const first = await json('/api/tables/orders.target/rows?limit=10');
    const second = await json('/api/tables/orders.target/rows?limit=10&offset=10');
    expect(first.total).toBe(26);
    const ids = [...rowsOf(first), ...rowsOf(second)].map((r) => Number(r.id));
    expect(new Set(ids).size).toBe(20);
    expect(ids.slice(0, 3)).toEqual([1, 2, 3]);

    const latest = rowsOf(await json(`/api/tables/orders.target/rows?filters=${filters([{ column: 'id', op: '=', value: '2' }])}`));
    const before = rowsOf(await json(`/api/tables/orders.target/rows?version=1&filters=${filters([{ column: 'id', op: '=', value: '2' }])}`));
    expect(latest.map((r) => r.name)).toEqual([UI_FIXTURE.after.name]);
    expect(before.map((r) => r.name)).toEqual([UI_FIXTURE.before.name]);

    const eu = await json(`/api/tables/orders.target/rows?filters=${filters([{ column: 'region', op: '=', value: 'eu' }, { column: 'amount', op: '>=', value: '15' }])}`);
    expect(rowsOf(eu).every((r) => r.region === 'eu' && Number(r.amount) >= 15)).toBe(true);
    // ids 3, 5, 6, then 115, 117, 119 (amount = i for id 100 + i; odd i is eu)
    expect(rowsOf(eu).map((r) => Number(r.id))).toEqual([3, 5, 6, 115, 117, 119]);
    expect(rowsOf(await json(`/api/tables/orders.target/rows?filters=${filters([{ column: 'name', op: 'contains', value: 'BOB' }])}`)).map((r) => r.id)).toEqual(['2']);

    const changes = await json('/api/tables/orders.target/changes?from=2&to=2');
    expect(rowsOf(changes).map((r) => `${r.id}:${r._change_type}`)).toEqual(['2:update_preimage', '2:update_postimage', '6:insert']);

    const h = await json('/api/tables/orders.target/history');
    expect(h.versions.map((v: any) => v.operation).slice(0, 3)).toEqual(['MERGE', 'MERGE', 'MERGE']);
    const last = h.sizes[h.sizes.length - 1];
    expect(last).toEqual({ version: 3, bytes: d.sizeInBytes, files: d.numFiles });
    // Each older size equals that version's own snapshot.
    for (const s of h.sizes) {
      const at = await json(`/api/tables/orders.target?version=${s.version}`);
      expect([s.version, s.bytes, s.files]).toEqual([s.version, at.sizeInBytes, at.numFiles]);
    }
  });

  it('filters are never SQL: unknown columns and operators are refused, values are literals', async () => {
    const badColumn = await raw(`/api/tables/orders.target/rows?filters=${filters([{ column: "id) OR (1=1", op: '=', value: '1' }])}`);
    expect(badColumn.status).toBe(400);
    expect(JSON.parse(badColumn.body).error).toMatch(/no column 'id\) OR \(1=1' to filter on; the columns are id, name, amount, region/);
    const badOp = await raw(`/api/tables/orders.target/rows?filters=${filters([{ column: 'id', op: "= 1 OR read_text('/etc/passwd') IS NOT NULL OR id =", value: '1' }])}`);
    expect(badOp.status).toBe(400);
    const injected = await json(`/api/tables/orders.target/rows?filters=${filters([{ column: 'name', op: '=', value: "x' OR '1'='1" }])}`);
    expect(injected.total).toBe(0);
    expect((await raw('/api/tables/orders.target/rows?version=99')).status).toBe(400);
    expect((await raw('/api/tables/orders.target/rows?limit=-1')).status).toBe(400);
    expect((await json('/api/tables/orders.target/rows?limit=100000')).limit).toBe(500);
  });

  it('benchmarks: reports in benchmarks/results with medians per engine; a symlink out of the folder is not a report', async () => {
    const list = await json('/api/benchmarks');
    expect(list.map((r: any) => r.id)).toEqual(['example']);
    const initial = list[0].scenarios.find((s: any) => s.id === 'initial-load');
    expect(initial.results.lakelet).toMatchObject({ status: 'ok', runs: 3 });
    expect(initial.results.lakelet.minWallMs).toBeLessThanOrEqual(initial.results.lakelet.medianWallMs);
    expect((await raw('/api/benchmarks/escape')).status).toBe(404);
    expect((await raw('/api/benchmarks/..')).status).toBe(404);
  });

  it('serves the front end and Chart.js, with a content security policy', async () => {
    const index = await raw('/');
    expect(index.status).toBe(200);
    expect(index.body).toContain('<script type="module" src="/app.js"></script>');
    expect(index.headers['content-security-policy']).toContain("default-src 'self'");
    const chart = await raw('/vendor/chart.umd.js');
    expect(chart.status).toBe(200);
    expect(chart.headers['content-type']).toMatch(/javascript/);
    const head = await raw('/app.js', { method: 'HEAD' });
    expect([head.status, head.body]).toEqual([200, '']);
  });
});

describe('lakelet ui is read-only and stays inside the workspace', () => {
  it('answers every method but GET and HEAD with 405, and nothing changes', async () => {
    const before = await json('/api/tables');
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      for (const path of ['/api/tables/orders.target', '/api/tables/orders.target/rows', '/', '/api/file?pipeline=orders&file=broken.csv']) {
        const r = await raw(path, { method });
        expect([method, path, r.status, r.headers.allow]).toEqual([method, path, 405, 'GET, HEAD']);
      }
    }
    expect(await json('/api/tables')).toEqual(before);
  });

  it('no path climbs out: encoded .., absolute paths, backslashes, NUL, ids that look like paths', async () => {
    const attempts = [
      '/../package.json',
      '/..%2f..%2fpackage.json',
      '/%2e%2e/%2e%2e/package.json',
      '/%2e%2e%2f%2e%2e%2fpackage.json',
      '/pages/..%2f..%2f..%2f..%2fpackage.json',
      '/..%5c..%5cpackage.json',
      '//etc/passwd',
      '/%2fetc%2fpasswd',
      '/app.js%00.html',
      '/vendor/..%2f..%2f..%2fpackage.json',
      '/api/tables/..%2f..%2f..%2fetc%2fpasswd',
      `/api/tables/${encodeURIComponent(join(ws.dir, 'tables', 'target'))}`,
      '/api/tables/%2e%2e/rows',
      `/api/file?pipeline=orders&file=${encodeURIComponent('../../../../etc/passwd')}`,
      `/api/file?pipeline=${encodeURIComponent('../orders')}&file=broken.csv`,
    ];
    for (const path of attempts) {
      const r = await raw(path);
      expect(r.body, path).not.toMatch(/root:|"name": "lakelet"/);
      if (path.startsWith('/api/file?pipeline=orders')) {
        // A name no manifest lists: an empty lifecycle, nothing read.
        expect(JSON.parse(r.body)).toMatchObject({ batches: [], history: { total: 0 } });
      } else expect([path, r.status]).toEqual([path, expect.toSatisfy((s: number) => s === 404 || s === 400)]);
    }
  });

  it('static files: a symlink inside the web folder that points out of it is not served', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lakelet-web-'));
    const outside = mkdtempSync(join(tmpdir(), 'lakelet-secret-'));
    try {
      writeFileSync(join(root, 'index.html'), '<p>ok</p>');
      writeFileSync(join(outside, 'secret.txt'), 'secret');
      symlinkSync(join(outside, 'secret.txt'), join(root, 'link.txt'));
      symlinkSync(outside, join(root, 'dir'));
      mkdirSync(join(root, 'sub'));
      expect((await staticFile(root, '/index.html')).body.toString()).toBe('<p>ok</p>');
      for (const p of ['/link.txt', '/dir/secret.txt', '/sub', '/sub/../index.html', '/missing.js']) {
        await expect(staticFile(root, p), p).rejects.toBeInstanceOf(UiRequestError);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('refuses a Host header that names another machine (DNS rebinding)', async () => {
    expect((await raw('/api/tables', { host: 'evil.example:80' })).status).toBe(403);
    expect((await raw('/api/overview', { host: `localhost:${server.port}` })).status).toBe(200);
  });

  it('binds loopback only unless explicitly allowed', async () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', 'example.com', '10.0.0.1']) expect(isLoopback(h), h).toBe(false);
    expect(() => assertBindAllowed('0.0.0.0', false)).toThrow(UiBindError);
    expect(() => assertBindAllowed('0.0.0.0', true)).not.toThrow();
    await expect(startUiServer({ configFile: ws.configFile, host: '0.0.0.0' })).rejects.toThrow(/refusing to serve the UI on 0\.0\.0\.0: it is not a loopback address.*--allow-remote/);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });
});

describe.skipIf(pgMode === 'skip')('lakelet ui API: database sources (PostgreSQL, lakelet sync)', () => {
  it('sources: per synced table the committed watermark, rows last run and in all, last run and lag', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lakelet-ui-sources-'));
    const saved = process.env.UI_PG_PW;
    process.env.UI_PG_PW = pg.server.adminPassword;
    let sources: UiServer | undefined;
    try {
      await pg.server.admin(
        `CREATE TABLE ui_items (id bigint PRIMARY KEY, name text, updated_at timestamptz NOT NULL);
         INSERT INTO ui_items VALUES (1, 'a', '2024-06-01 10:00:00+00'), (2, 'b', '2024-06-01 11:00:00+00'), (3, 'c', '2024-06-01 12:00:00+00');
         CREATE TABLE ui_codes (code text PRIMARY KEY, label text);
         INSERT INTO ui_codes VALUES ('x', 'ex'), ('y', 'why');`,
      );
      const yml = join(dir, 'lakelet.yml');
      writeFileSync(yml, `sources:\n  pg:\n    url: ${pg.server.url()}\n    passwordEnv: UI_PG_PW\n    tables: [ui_items, ui_codes]\n    withoutWatermark: full\n    target: ./lake\n    lookback: 0s\n`);
      const compute = await openCompute();
      try {
        const sync = () => syncSources(loadConfig(yml), { warehouse: openWarehouse({ warehouse: 'delta', file: yml }, { compute }), compute, clock: systemClock, reporter: silentReporter });
        expect((await sync()).failed).toEqual([]);
        await pg.server.admin(`INSERT INTO ui_items VALUES (4, 'd', '2024-06-02 08:00:00+00')`);
        expect((await sync()).failed).toEqual([]);
      } finally {
        compute.close();
      }
      sources = await startUiServer({ configFile: yml });
      const get = (path: string) =>
        new Promise<Reply>((resolve, reject) => {
          request({ host: '127.0.0.1', port: sources!.port, path }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (d: string) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
          }).on('error', reject).end();
        });
      const r = await get('/api/sources');
      expect(r.status, r.body).toBe(200);
      const [source] = JSON.parse(r.body);
      expect(source).toMatchObject({ source: 'pg', target: join(dir, 'lake'), error: null });
      expect(source.url).not.toContain(pg.server.adminPassword);
      const byTable = Object.fromEntries(source.tables.map((t: any) => [t.table, t]));
      expect(Object.keys(byTable).sort()).toEqual(['ui_codes', 'ui_items']);
      // Incremental: the second run read only the new row; its watermark is the newest updated_at.
      expect(byTable.ui_items).toMatchObject({ rowsLastRun: 1, rowsTotal: 4, batch: 2 });
      expect(byTable.ui_items.watermark).toMatch(/^2024-06-02 08:00:00/);
      // No watermark column: read in full each run.
      expect(byTable.ui_codes).toMatchObject({ watermark: null, rowsLastRun: 2, rowsTotal: 4 });
      for (const t of source.tables) {
        expect(Date.parse(t.lastRun)).not.toBeNaN();
        expect(t.lagMs).toBeGreaterThanOrEqual(0);
        expect(t.lag).toMatch(/^\d+ (s|min|h|d)/);
      }
      // This config has no file pipelines: an empty list, not an error.
      expect(JSON.parse((await get('/api/pipelines')).body)).toEqual([]);
      // And the workspace with pipelines but no sources has none.
      expect(await json('/api/sources')).toEqual([]);
    } finally {
      await sources?.close();
      if (saved === undefined) delete process.env.UI_PG_PW;
      else process.env.UI_PG_PW = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
