/**
 * The one line `troupe load` prints when it cannot reach the server: what went wrong, said plainly,
 * and what to do. The SDK's own messages ("fetch failed", "Error POSTing to endpoint: ...") name
 * neither the cause (a refused connection, an unknown host) nor the fix.
 */
export function connectFailure(url: URL, error: unknown): string {
  const prefix = `troupe load: cannot connect to ${url.href}`;
  const status = httpStatus(error);
  if (status === 401 || status === 403)
    return `${prefix}: HTTP ${status}, the server wants a token; set TROUPE_TOKEN to one it accepts`;
  if (status === 404 || status === 405)
    return `${prefix}: HTTP ${status}, no MCP endpoint at ${url.pathname}; troupe serve's is /mcp (e.g. ${url.origin}/mcp)`;
  if (status !== undefined) return `${prefix}: HTTP ${status}; ${message(error)}`;
  const code = causeCode(error);
  if (code === 'ECONNREFUSED')
    return `${prefix}: connection refused (nothing listens on ${url.host}); start \`troupe serve\` there (npm start), or check --url`;
  // fetch (undici, as browsers) refuses some ports before connecting; Node's http server listens there.
  if (causeMessage(error) === 'bad port')
    return `${prefix}: port ${url.port} is one that fetch, as browsers, refuses to connect to (a "bad port" of the Fetch standard); start troupe serve on another --port`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `${prefix}: unknown host ${url.hostname} (${code}); check --url`;
  return `${prefix}: ${message(error)}${code === undefined ? '' : ` (${code})`}`;
}

function httpStatus(error: unknown): number | undefined {
  const status = (error as { data?: { status?: unknown } } | null)?.data?.status;
  return typeof status === 'number' ? status : undefined;
}

function causeCode(error: unknown): string | undefined {
  const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

function causeMessage(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause instanceof Error ? cause.message : undefined;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
