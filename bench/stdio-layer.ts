/**
 * Child process for `bench stdio`, side `layer`: troupe's stdio server as `troupe stdio` runs it
 * (the same bootstrap, runtime, tools, resources, stdin guard and batched stdout: `serveOverStdio`),
 * with the baseline's tool added as `bare_chat`, which the bench calls. A call goes through
 * everything troupe puts in front of a tool (its `tools/call` handler passes names it does not own
 * to the SDK's) but starts no session: what is left of troupe's cost per call is its MCP layer,
 * and `troupe` minus `layer` is the session and what `chat` does around it.
 */
import { bootstrap } from '../src/cli/bootstrap.js';
import { loadConfig } from '../src/cli/config.js';
import { serveOverStdio } from '../src/cli/stdio.js';
import { createMcpServer } from '../src/mcp/server.js';
import { createLogger } from '../src/observe/logger.js';
import { addBareChat } from './bare-chat.js';

const logger = createLogger({ base: { component: 'stdio' } });
const { mcp } = await bootstrap(process.env, logger, undefined, undefined, await loadConfig({}, process.env));
serveOverStdio(mcp, logger, (era, listening) =>
  addBareChat(createMcpServer(mcp, { resourceUpdates: era === 'modern' ? listening : 'subscribed' }), {
    name: 'bare_chat',
  }),
);
process.stdin.once('end', () => process.exit(0));
