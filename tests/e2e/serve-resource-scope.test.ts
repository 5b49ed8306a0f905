/**
 * `troupe serve` with named tokens turns on per-client scoping of the session resources: a client
 * neither lists nor reads another client's sessions (owner, request id, label, provider/model, state,
 * timings and live progress) through `troupe://sessions`, `resources/list` or
 * `troupe://sessions/{id}`. The filter itself is tested in-process; this checks that the CLI sets it.
 * The BUILT CLI (`npm run build` first), SDK clients over Streamable HTTP.
 */
import type { ChildProcess } from 'node:child_process';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServeCli } from '../support/serve-cli.js';

let child: ChildProcess | undefined;
let base: URL;

beforeAll(async () => {
  ({ child, base } = await startServeCli({ TROUPE_TOKENS: 'alice:alice-token-1,bob:bob-token-22' }));
});
afterAll(() => {
  child?.kill('SIGKILL');
});

async function clientWith(token: string): Promise<Client> {
  const client = new Client({ name: 'scope', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(base, {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

const sessionsView = async (client: Client) =>
  JSON.parse(
    ((await client.readResource({ uri: 'troupe://sessions' })).contents[0] as { text: string }).text,
  );

it('shows a client none of another token’s sessions as resources, and the owner its own', async () => {
  const [alice, bob] = [await clientWith('alice-token-1'), await clientWith('bob-token-22')];
  try {
    const done = (await alice.callTool({ name: 'chat', arguments: { prompt: 'private' } })) as {
      structuredContent: { session: { sessionId: string } };
    };
    const id = done.structuredContent.session.sessionId;
    const uri = `troupe://sessions/${id}`;
    const ids = (view: { recent: { sessionId: string }[] }) => view.recent.map((s) => s.sessionId);
    expect(ids(await sessionsView(alice))).toContain(id);
    expect(ids(await sessionsView(bob))).not.toContain(id);
    expect((await alice.listResources()).resources.map((r) => r.uri)).toContain(uri);
    expect((await bob.listResources()).resources.map((r) => r.uri)).not.toContain(uri);
    await alice.readResource({ uri });
    await expect(bob.readResource({ uri })).rejects.toThrow(/session id/);
  } finally {
    await Promise.all([alice.close(), bob.close()]);
  }
});

it('serves several tokens with shares the operator set to the whole, which createHttpApp alone refuses', async () => {
  const whole = await startServeCli({ TROUPE_TOKENS: 'alice:alice-token-1,bob:bob-token-22' }, [
    '--max-concurrent',
    '4',
    '--max-running-per-caller',
    '4',
  ]);
  try {
    const client = new Client({ name: 'scope', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(whole.base, {
        requestInit: { headers: { authorization: 'Bearer alice-token-1' } },
      }),
    );
    const done = (await client.callTool({ name: 'chat', arguments: { prompt: 'hi' } })) as {
      structuredContent: { session: { state: string } };
    };
    expect(done.structuredContent.session.state).toBe('done');
    await client.close();
  } finally {
    whole.child.kill('SIGKILL');
  }
});
