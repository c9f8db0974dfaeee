// A local S3 server for the remote benchmarks: s3rver on loopback, behind a counting proxy so
// that tusk, rclone and restic are charged the requests they make (PUT, GET, LIST, HEAD, POST,
// DELETE) from the same vantage point, as a cloud bill would.
import * as http from 'node:http';
import S3rver from 's3rver';

export const S3_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

/**
 * Run `fn` with AWS_CA_BUNDLE removed from this process's environment (and so from every command
 * it spawns): the server is plain http on loopback, and rclone refuses any custom CA bundle there.
 */
export async function withoutCaBundle(fn) {
  const saved = process.env.AWS_CA_BUNDLE;
  delete process.env.AWS_CA_BUNDLE;
  try {
    return await fn();
  } finally {
    if (saved !== undefined) process.env.AWS_CA_BUNDLE = saved;
  }
}

export async function startCountingS3(dir, buckets) {
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
  const { port: backPort } = await server.run();
  const counts = { PUT: 0, GET: 0, LIST: 0, HEAD: 0, POST: 0, DELETE: 0 };
  let uploaded = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const proxy = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const isList = req.method === 'GET' && (url.searchParams.has('list-type') || url.pathname.split('/').filter(Boolean).length <= 1);
    const kind = isList ? 'LIST' : req.method;
    if (kind in counts) counts[kind]++;
    // the bytes sent up (request bodies of PUT and POST), as a bill for ingress would count them
    if (kind === 'PUT' || kind === 'POST') req.on('data', (d) => (uploaded += d.length));
    const up = http.request({ host: '127.0.0.1', port: backPort, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = proxy.address().port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    /** the server itself, not counted (restic 0.14 stalls behind the proxy) */
    directEndpoint: `http://127.0.0.1:${backPort}`,
    counts,
    /** counts since `before` (a copy taken earlier) */
    since: (before) => Object.fromEntries(Object.keys(counts).map((k) => [k, counts[k] - before[k]])),
    snapshot: () => ({ ...counts }),
    /** bytes of request bodies sent up so far (PUT and POST) */
    uploaded: () => uploaded,
    async close() {
      await new Promise((resolve) => proxy.close(resolve));
      agent.destroy();
      await server.close();
    },
  };
}

/** Requests as one short string: `PUT 34 · GET 2 · LIST 3`. */
export function fmtCounts(c) {
  return Object.entries(c)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(' · ');
}
