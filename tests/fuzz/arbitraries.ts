/**
 * fast-check arbitraries for the fuzz suite: JSON-RPC messages, tool arguments (sizes, types,
 * unicode, nesting), headers and request paths.
 */
import fc from 'fast-check';
import { MODELS } from './server.js';

export const TOOL_NAMES = [
  'chat',
  'multi_file_chat',
  'consensus',
  'list_models',
  'sessions',
  'cancel_session',
];

/** Strings a careless server meets: empty, unicode (astral, RTL, combining, NUL), long. */
export const nastyString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      '\u0000',
      '\u202e',
      'e\u0301',
      '😀'.repeat(50),
      '../../etc/passwd',
      '%00',
      '\u0024{x}',
      '__proto__',
      'constructor',
    ),
  },
  { weight: 1, arbitrary: fc.nat({ max: 200_000 }).map((n) => 'x'.repeat(n)) },
);

/** JSON nested up to `maxDepth` levels (the server's bound is 64: both sides are generated). */
export function nested(maxDepth: number): fc.Arbitrary<unknown> {
  return fc.nat({ max: maxDepth }).chain((depth) =>
    fc.jsonValue({ maxDepth: 2 }).map((leaf) => {
      let value: unknown = leaf;
      for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { k: value };
      return value;
    }),
  );
}

const anyValue = fc.oneof(
  nastyString,
  fc.double(),
  fc.integer(),
  fc.constantFrom(1e308, -0, Number.MAX_SAFE_INTEGER + 2, 2 ** 31),
  fc.boolean(),
  fc.constant(null),
  nested(90),
  fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }),
);

/** Arguments for one tool: mostly its own fields with good or bad values, sometimes junk. */
export const toolArguments = fc
  .record(
    {
      prompt: fc.oneof(nastyString, anyValue),
      system: fc.oneof(nastyString, anyValue),
      messages: fc.oneof(
        fc.array(
          fc.record({
            role: fc.constantFrom('user', 'system', 'assistant', 'tool', 'x'),
            content: nastyString,
          }),
        ),
        anyValue,
      ),
      model: fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...MODELS) },
        { weight: 1, arbitrary: anyValue },
      ),
      provider: fc.oneof(fc.constantFrom('local', 'nope'), anyValue),
      priority: fc.oneof(fc.integer({ min: -5, max: 15 }), anyValue),
      timeout_ms: fc.oneof(
        { weight: 5, arbitrary: fc.integer({ min: 1, max: 1500 }) },
        { weight: 1, arbitrary: anyValue },
      ),
      continuation_id: fc.oneof(fc.uuid(), nastyString),
      files: fc.oneof(fc.constant(['notes.txt']), fc.array(nastyString, { maxLength: 3 }), anyValue),
      session_id: fc.oneof(fc.uuid(), nastyString),
      recent_limit: fc.oneof(fc.integer({ min: -1, max: 2000 }), anyValue),
      temperature: anyValue,
      extra: anyValue,
    },
    { requiredKeys: [] },
  )
  .map((args) => ({ timeout_ms: 1500, ...args }));

/** Calls that pass validation and reach the provider (every fault model included). */
export const validCall = fc.oneof(
  fc.record({
    name: fc.constant('chat'),
    arguments: fc.record(
      {
        prompt: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }),
        system: fc.string({ maxLength: 100 }),
        model: fc.constantFrom(...MODELS),
        timeout_ms: fc.integer({ min: 200, max: 1500 }),
        priority: fc.integer({ min: 0, max: 9 }),
      },
      { requiredKeys: ['prompt', 'model', 'timeout_ms'] },
    ),
  }),
  fc.record({
    name: fc.constant('multi_file_chat'),
    arguments: fc.record({
      prompt: fc.string({ minLength: 1, maxLength: 50 }),
      files: fc.constantFrom(['notes.txt'], ['../../etc/passwd'], ['/etc/hostname']),
      model: fc.constantFrom(...MODELS),
      timeout_ms: fc.constant(1500),
    }),
  }),
  fc.record({
    name: fc.constant('consensus'),
    arguments: fc.record({
      prompt: fc.string({ minLength: 1, maxLength: 50 }),
      models: fc.array(fc.record({ provider: fc.constant('local'), model: fc.constantFrom(...MODELS) }), {
        minLength: 1,
        maxLength: 3,
      }),
      timeout_ms: fc.constant(1500),
    }),
  }),
);

const anyCall = fc.record({
  name: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...TOOL_NAMES) },
    { weight: 1, arbitrary: nastyString },
  ),
  arguments: fc.oneof({ weight: 8, arbitrary: toolArguments }, { weight: 1, arbitrary: anyValue }),
});

export const toolCall = fc.oneof({ weight: 1, arbitrary: validCall }, { weight: 1, arbitrary: anyCall });

const METHODS = [
  'tools/list',
  'tools/call',
  'ping',
  'tasks/list',
  'tasks/get',
  'tasks/cancel',
  'resources/list',
  'prompts/list',
  'logging/setLevel',
  'completion/complete',
  'initialize',
];

/** A JSON-RPC message, well formed or not. */
export const rpcMessage: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        jsonrpc: fc.oneof({ weight: 8, arbitrary: fc.constant('2.0') }, { weight: 1, arbitrary: anyValue }),
        id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.constant(null), anyValue),
        method: fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...METHODS) },
          { weight: 1, arbitrary: nastyString },
        ),
        params: fc.oneof(
          toolCall,
          fc.record({ taskId: nastyString, cursor: nastyString }, { requiredKeys: [] }),
          anyValue,
        ),
      },
      { requiredKeys: ['method'] },
    ),
  },
  { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 3 }) },
  { weight: 1, arbitrary: anyValue },
);

/** Header sets a client may send (values the HTTP stack itself accepts). */
const headerValue = fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, ''));
export const headers = fc.record(
  {
    'content-type': fc.oneof(
      fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-16', ''),
      headerValue,
    ),
    accept: fc.oneof(
      fc.constantFrom('application/json, text/event-stream', 'text/event-stream', '*/*'),
      headerValue,
    ),
    'mcp-protocol-version': fc.oneof(
      fc.constantFrom('2025-11-25', '2025-06-18', '2026-07-28', '1999-01-01'),
      headerValue,
    ),
    'mcp-session-id': headerValue,
    authorization: fc.oneof(fc.constantFrom('Bearer x', 'bearer', 'Basic Zm9vOmJhcg=='), headerValue),
    origin: fc.oneof(fc.constantFrom('http://localhost', 'http://evil.example', 'null'), headerValue),
    host: fc.oneof(fc.constantFrom('localhost', 'evil.example', '127.0.0.1:1', '[::1]'), headerValue),
  },
  { requiredKeys: [] },
);

export const paths = fc.oneof(
  fc.constantFrom(
    '/mcp',
    '/mcp/',
    '/MCP',
    '/mcp?x=1',
    '/metrics',
    '/api/status',
    '/',
    '/%2e%2e/',
    '//mcp',
    '/mcp#x',
    '/nope',
  ),
  fc.webPath(),
  fc.string({ maxLength: 30 }).map((s) => `/${encodeURIComponent(s)}`),
);

export const methods = fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD');

/** A JSON-RPC request whose params nest very deep, as text (building it as objects would overflow here). */
export const deepRpcText = fc
  .tuple(
    fc.constantFrom(65, 500, 5000, 20_000),
    fc.constantFrom('[', '{"a":'),
    fc.constantFrom('tools/list', 'tools/call', 'ping'),
  )
  .map(([depth, open, method]) => {
    const close = open === '[' ? ']' : '}';
    return `{"jsonrpc":"2.0","id":1,"method":"${method}","params":{"x":${open.repeat(depth)}1${close.repeat(depth)}}}`;
  });
