/**
 * The Fetch standard's "bad ports" (https://fetch.spec.whatwg.org/#port-blocking): browsers refuse
 * every request to them, and so does every fetch implementation, Node's included, which the MCP
 * SDK's client uses. A server on one of them serves curl and other clients, but not the dashboard
 * in a browser nor the SDK's client, so `troupe serve` warns at start (it does not refuse: the port
 * may be meant for such clients). Until 2026-12-07 it started without a word.
 */
const BAD_PORTS: ReadonlySet<number> = new Set([
  0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
  109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
  526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** The warning for a server bound to `port`, when browsers and fetch refuse it. */
export function badPortWarning(port: number): string | undefined {
  if (!BAD_PORTS.has(port)) return undefined;
  return `port ${port} is one of the Fetch standard's bad ports: browsers refuse it, so the dashboard will not open, and so does fetch (the MCP SDK's client on Node, Deno, Bun); curl and other clients work. Choose another port (--port) unless that is what you want`;
}
