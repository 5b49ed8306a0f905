// The dashboard of a `troupe serve` that has tokens, in a browser: a browser sends no
// `Authorization` header when you open a page, so troupe answers it 401. This proxy listens on
// loopback only and adds the admin token to the dashboard's own paths (`/`, `/events`,
// `/api/status`, `/metrics`), GET only. It never forwards `/mcp`: that would give the admin token
// to anyone who can reach the proxy. It answers only a loopback `Host`, so another site's page
// cannot read the dashboard through it by resolving its own name to 127.0.0.1 (DNS rebinding).
// Run: TROUPE_ADMIN_TOKEN=... node examples/dashboard-proxy.mjs
//   (TROUPE_URL: the server, default http://127.0.0.1:7801; PROXY_PORT: default 7802, 0 for any)
// From another machine, forward the port: ssh -L 7802:127.0.0.1:7802 this-host
import { createServer, request } from 'node:http';

const token = process.env.TROUPE_ADMIN_TOKEN?.trim();
if (!token) {
  process.stderr.write('dashboard-proxy: set TROUPE_ADMIN_TOKEN (the token troupe serve was given)\n');
  process.exit(2);
}
const upstream = new URL(process.env.TROUPE_URL ?? 'http://127.0.0.1:7801');
const PATHS = new Set(['/', '/events', '/api/status', '/metrics']);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  const refuse = (status, why) => res.writeHead(status, { 'content-type': 'text/plain' }).end(`${why}\n`);
  if (!LOOPBACK.has(host)) return refuse(403, 'only a loopback Host (127.0.0.1, localhost, [::1])');
  if (req.method !== 'GET') return refuse(405, 'GET only');
  if (!PATHS.has(url.pathname)) return refuse(404, `only the dashboard's paths: ${[...PATHS].join(' ')}`);
  const out = request(
    new URL(url.pathname + url.search, upstream),
    {
      method: 'GET',
      // troupe's own Host, and no Origin: the proxy is the client troupe sees.
      headers: {
        host: upstream.host,
        authorization: `Bearer ${token}`,
        accept: req.headers.accept ?? '*/*',
      },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', (error) => {
    if (res.headersSent) res.destroy();
    else
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`troupe did not answer: ${error.message}\n`);
  });
  // A browser that leaves (a closed tab) ends the `/events` stream upstream too.
  res.on('close', () => out.destroy());
  out.end();
});

server.listen(Number(process.env.PROXY_PORT ?? 7802), '127.0.0.1', () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stderr.write(`dashboard-proxy: open http://127.0.0.1:${port}/ (troupe at ${upstream.origin})\n`);
});
