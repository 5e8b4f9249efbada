// A tiny HTTP proxy on loopback in front of a real server (the GCS emulator), for tests of retries:
// it counts every request and, as the test's `decide` says, forwards it, answers it with an error
// status itself, drops the connection before forwarding, or forwards it and then drops the
// connection instead of answering (the server did the work; the client never hears of it).
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';

export type Fault = 'pass' | { status: number } | 'reset-before' | 'reset-after';

export interface SeenRequest {
  method: string;
  /** Path and query as received (still percent-encoded). */
  url: string;
  /** What the proxy did with it. */
  fault: Fault;
  /** The status the client got (undefined when the connection was dropped). */
  status?: number;
  /** The Range header, for ranged downloads. */
  range?: string;
}

export interface FaultProxy {
  endpoint: string;
  requests: SeenRequest[];
  stop(): Promise<void>;
}

export async function startFaultProxy(target: string, decide: (req: IncomingMessage, index: number) => Fault): Promise<FaultProxy> {
  const requests: SeenRequest[] = [];
  const targetUrl = new URL(target);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const fault = decide(req, requests.length);
    const seen: SeenRequest = { method: req.method ?? 'GET', url: req.url ?? '/', fault, ...(req.headers.range ? { range: req.headers.range } : {}) };
    requests.push(seen);
    if (fault === 'reset-before') {
      req.socket.destroy();
      return;
    }
    if (typeof fault === 'object') {
      req.resume();
      req.on('end', () => {
        seen.status = fault.status;
        res.writeHead(fault.status, { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify({ error: { code: fault.status, message: `injected by the test proxy`, errors: [{ message: 'injected', reason: 'backendError' }] } }));
      });
      return;
    }
    const upstream = httpRequest(
      { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: { ...req.headers, host: targetUrl.host } },
      (up) => {
        if (fault === 'reset-after') {
          // Let the server finish (it has done the work), then hang up on the client.
          up.resume();
          up.on('end', () => req.socket.destroy());
          return;
        }
        seen.status = up.statusCode;
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
