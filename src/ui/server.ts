import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LakeletError } from '../errors/lakelet-error.ts';
import { assertBindAllowed, isLoopback } from './bind.ts';
import { UiRequestError } from './errors.ts';
import { apiCall } from './routes.ts';
import { staticFile } from './static-files.ts';
import { openReader } from './api/open-reader.ts';
import { UiWorkspace, type UiWorkspaceOptions } from './api/workspace.ts';

/**
 * `lakelet ui`'s web server (node:http, no framework): the JSON API under /api/, the front end's
 * plain ES modules from src/ui/web/ (no build step), and Chart.js's UMD build from node_modules.
 * Read-only: GET and HEAD only, every other method is 405. Loopback only unless asked otherwise,
 * and then a Host header naming another machine is refused too (a DNS-rebinding page in the
 * browser cannot talk to it under a name of its own).
 */
export const WEB_ROOT = join(import.meta.dirname, 'web');

export interface UiServerOptions extends UiWorkspaceOptions {
  configFile: string;
  host?: string;
  /** 0 (default): a free port. */
  port?: number;
  allowRemote?: boolean;
}

export interface UiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const host = options.host ?? '127.0.0.1';
  assertBindAllowed(host, options.allowRemote ?? false);
  const ws = await UiWorkspace.open(options.configFile, options, openReader);
  const chartJs = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js');
  const server = createServer((req, res) => {
    handle(ws, req, res, { chartJs, checkHost: !(options.allowRemote ?? false) }).catch((err) => send(res, req, 500, 'application/json', json({ error: String(err) })));
  });
  try {
    await listen(server, host, options.port ?? 0);
  } catch (err) {
    ws.close();
    throw err;
  }
  const port = (server.address() as { port: number }).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      ws.close();
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function handle(ws: UiWorkspace, req: IncomingMessage, res: ServerResponse, env: { chartJs: string; checkHost: boolean }): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, req, 405, 'application/json', json({ error: `${req.method} is not allowed: lakelet ui is read-only` }));
  }
  const hostName = (req.headers.host ?? '').replace(/:\d+$/, '');
  if (env.checkHost && !isLoopback(hostName)) return send(res, req, 403, 'application/json', json({ error: `unexpected Host header '${req.headers.host ?? ''}'` }));
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  try {
    if (path === '/api' || path.startsWith('/api/')) {
      const segments = path.slice('/api/'.length).split('/').map(decodeSegment);
      const body = await apiCall(ws, segments, params);
      return send(res, req, 200, 'application/json; charset=utf-8', json(body));
    }
    if (path === '/vendor/chart.umd.js') return send(res, req, 200, 'text/javascript; charset=utf-8', await readFile(env.chartJs));
    const file = await staticFile(WEB_ROOT, path === '/' ? '/index.html' : path);
    return send(res, req, 200, file.type, file.body);
  } catch (err) {
    const status = err instanceof UiRequestError ? err.status : err instanceof LakeletError ? 400 : 500;
    const message = err instanceof Error ? err.message : String(err);
    return send(res, req, status, 'application/json; charset=utf-8', json({ error: message, ...(err instanceof LakeletError ? { code: err.code } : {}) }));
  }
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new UiRequestError(400, `malformed path segment: ${s}`);
  }
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string | Buffer): void {
  if (res.headersSent) return;
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': bytes.length,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'",
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}
