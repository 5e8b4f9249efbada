import { UiRequestError } from './errors.ts';
import { benchmarkList, benchmarkReport } from './api/benchmarks.ts';
import { fileDetail } from './api/files.ts';
import { pipelinesView } from './api/pipelines.ts';
import { sourcesView } from './api/sources.ts';
import { intParam, pageQuery } from './api/tables.ts';
import type { UiWorkspace } from './api/workspace.ts';

/**
 * The JSON API: every route reads, none writes (the server answers anything but GET and HEAD with
 * 405 before it gets here). Path segments name things the config defines (a table id, a pipeline,
 * a report folder), looked up, never joined into a path.
 */
type Handler = (ws: UiWorkspace, params: URLSearchParams, segments: string[]) => Promise<unknown>;

const HISTORY_LIMIT = 200;

const ROUTES: { pattern: string[]; handler: Handler }[] = [
  {
    pattern: ['overview'],
    handler: async (ws) => ({
      config: ws.config.file,
      warehouse: ws.config.warehouse,
      timeTravel: ws.reader.timeTravel,
      ingestionLog: ws.config.ingestionLog,
      pipelines: ws.config.pipelines.map((p) => p.name),
      tables: ws.tables.map((t) => ({ id: t.id, role: t.role, pipeline: t.pipeline ?? null, location: t.location })),
      benchmarks: ws.benchmarks,
    }),
  },
  { pattern: ['pipelines'], handler: (ws) => pipelinesView(ws) },
  { pattern: ['sources'], handler: (ws) => sourcesView(ws) },
  {
    pattern: ['files'],
    handler: (ws, q) =>
      ws.reader.logPage({
        ...pageQuery(q),
        ...(q.get('q') ? { q: q.get('q')! } : {}),
        ...(q.get('pipeline') ? { pipeline: q.get('pipeline')! } : {}),
        ...(q.get('status') ? { status: q.get('status')! } : {}),
      }),
  },
  {
    pattern: ['file'],
    handler: (ws, q) => {
      const pipeline = q.get('pipeline');
      const file = q.get('file');
      if (!pipeline || !file) throw new UiRequestError(400, 'name the file: /api/file?pipeline=<name>&file=<name in landing>');
      return fileDetail(ws, pipeline, file);
    },
  },
  { pattern: ['tables'], handler: (ws) => ws.reader.list() },
  { pattern: ['tables', '*'], handler: (ws, q, [id]) => ws.reader.describe(id, intParam(q, 'version')) },
  { pattern: ['tables', '*', 'history'], handler: (ws, q, [id]) => ws.reader.history(id, Math.max(1, intParam(q, 'limit') ?? HISTORY_LIMIT)) },
  {
    pattern: ['tables', '*', 'rows'],
    handler: (ws, q, [id]) => {
      const version = intParam(q, 'version');
      return ws.reader.rows(id, { ...pageQuery(q), ...(version !== undefined ? { version } : {}), filters: q.get('filters') });
    },
  },
  {
    pattern: ['tables', '*', 'changes'],
    handler: (ws, q, [id]) => {
      const from = intParam(q, 'from');
      if (from === undefined) throw new UiRequestError(400, 'changes need from=<version> (and optionally to=<version>)');
      const to = intParam(q, 'to');
      return ws.reader.changes(id, { ...pageQuery(q), from, ...(to !== undefined ? { to } : {}) });
    },
  },
  { pattern: ['benchmarks'], handler: (ws) => benchmarkList(ws.benchmarks) },
  { pattern: ['benchmarks', '*'], handler: (ws, _q, [id]) => benchmarkReport(ws.benchmarks, id) },
];

/** Answers `/api/<segments…>`; segments arrive percent-decoded. */
export function apiCall(ws: UiWorkspace, segments: string[], params: URLSearchParams): Promise<unknown> {
  for (const route of ROUTES) {
    if (route.pattern.length !== segments.length) continue;
    const captured: string[] = [];
    if (route.pattern.every((p, i) => (p === '*' ? (captured.push(segments[i]), true) : p === segments[i]))) {
      return ws.serially(() => route.handler(ws, params, captured));
    }
  }
  return Promise.reject(new UiRequestError(404, `no API route /api/${segments.join('/')}`));
}
