/**
 * Streamed tool calls arrive in fragments: the first carries the id and name, later ones carry
 * pieces of the JSON arguments. `assembleToolCalls` joins them into whole `ToolCall`s. Pure.
 */
import type { ChatDelta, ToolCall } from './port.js';

type ToolCallDelta = Extract<ChatDelta, { type: 'tool_call' }>;

interface Joined {
  id: string;
  name: string;
  arguments: string;
  type: string;
}

/**
 * Joins `tool_call` fragments by `index`, in index order; other delta kinds are ignored.
 * A later fragment's `id` or `name` replaces an empty one and otherwise is appended to, because some
 * servers (GLM, older vLLM) split names across fragments while most send them once.
 */
export function assembleToolCalls(deltas: Iterable<ChatDelta>): ToolCall[] {
  const byIndex = new Map<number, Joined>();
  for (const delta of deltas) {
    if (delta.type !== 'tool_call') continue;
    addFragment(byIndex, delta);
  }
  return [...byIndex.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, call]) => ({
      id: call.id === '' ? `call_${index}` : call.id,
      type: call.type,
      function: { name: call.name, arguments: call.arguments },
    }));
}

/** An incremental assembler, for adapters that see fragments one at a time. */
export class ToolCallAssembler {
  readonly #byIndex = new Map<number, Joined>();

  add(delta: ToolCallDelta): void {
    addFragment(this.#byIndex, delta);
  }

  get size(): number {
    return this.#byIndex.size;
  }

  calls(): ToolCall[] {
    return assembleToolCalls(
      [...this.#byIndex.entries()].map(([index, call]) => ({
        type: 'tool_call' as const,
        index,
        id: call.id,
        name: call.name,
        arguments: call.arguments,
        callType: call.type,
      })),
    );
  }
}

function addFragment(byIndex: Map<number, Joined>, delta: ToolCallDelta): void {
  const current = byIndex.get(delta.index) ?? { id: '', name: '', arguments: '', type: 'function' };
  if (delta.callType !== undefined && delta.callType !== '') current.type = delta.callType;
  if (delta.id !== undefined && delta.id !== '' && current.id !== delta.id) {
    // Ids are sent whole; a repeat of the same id is not a new piece.
    current.id = current.id === '' ? delta.id : current.id;
  }
  if (delta.name !== undefined && delta.name !== '' && current.name !== delta.name) {
    current.name = current.name === '' ? delta.name : current.name + delta.name;
  }
  if (delta.arguments !== undefined) current.arguments += delta.arguments;
  byIndex.set(delta.index, current);
}
