// A loopback HTTP relay in front of the test S3 server that writes down every request tusk makes
// (method, object key, Range header): what a lazy clone fetches is then asserted from the wire,
// not from tusk's own account of it.
import * as http from 'node:http';

export interface LoggedRequest {
  method: string;
  /** the object key below the bucket, without the query string */
  key: string;
  query: string;
  range: string | undefined;
  /** bytes of the response body */
  bytes: number;
}

export interface RequestLog {
  endpoint: string;
  requests: LoggedRequest[];
  /** forget what was logged so far */
  reset(): void;
  close(): Promise<void>;
}

export async function logRequests(target: string, bucket: string): Promise<RequestLog> {
  const to = new URL(target);
  const requests: LoggedRequest[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const entry: LoggedRequest = {
      method: req.method ?? 'GET',
      key: decodeURIComponent(url.pathname.replace(new RegExp(`^/${bucket}/?`), '')),
      query: url.search,
      range: req.headers.range,
      bytes: 0,
    };
    requests.push(entry);
    const up = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 500, r.headers);
      r.on('data', (b: Buffer) => (entry.bytes += b.length));
      r.pipe(res);
    });
    up.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    reset: () => void (requests.length = 0),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
