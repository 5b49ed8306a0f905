/**
 * Shared pieces of the per-vendor request checks (`kimi-rules.ts`, `glm-rules.ts`): reading a
 * field typed or from `extra`, dropping or replacing it, and refusing it with a message that names
 * the field, the model and what is allowed. Pure.
 */
import { describe, providerError, type TroupeError } from '../core/errors.js';
import type { ChatMessage, ChatRequest } from './port.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The typed fields a rule may read or change; others live in `extra`. */
const TYPED = new Set(['temperature', 'top_p', 'max_tokens', 'stop', 'tool_choice', 'thinking', 'tools']);

/** A request being checked: reads, replacements and notes, applied once at the end. */
export class RequestDraft {
  readonly notes: string[] = [];
  #request: Mutable<ChatRequest>;
  #extra: Record<string, unknown>;

  constructor(
    request: ChatRequest,
    readonly vendor: string,
  ) {
    this.#request = { ...request };
    this.#extra = { ...(request.extra ?? {}) };
  }

  get model(): string {
    return this.#request.model;
  }

  get request(): ChatRequest {
    return this.#request;
  }

  /** The value as it would be sent: the typed field wins over `extra` (as in the body). */
  get(field: string): unknown {
    const typed = TYPED.has(field) ? (this.#request as Record<string, unknown>)[field] : undefined;
    return typed ?? this.#extra[field];
  }

  /**
   * The thinking switch as it would be sent: the typed `thinking`, else `extra.thinking`, read
   * through the vendors' own object form `{ type: 'enabled' | 'disabled', ... }` (Kimi [K1], GLM
   * [Z6]) so a rule judges `extra: { thinking: { type: 'disabled' } }` as it judges the typed field.
   */
  thinkingMode(): unknown {
    const value = this.get('thinking');
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'type' in value)
      return (value as { readonly type: unknown }).type;
    return value;
  }

  has(field: string): boolean {
    return this.get(field) !== undefined;
  }

  set(field: string, value: unknown): void {
    if (TYPED.has(field)) {
      (this.#request as Record<string, unknown>)[field] = value;
      delete this.#extra[field];
    } else {
      this.#extra[field] = value;
    }
  }

  /** Replaces the messages (a rule sends them in the vendor's own form; the caller's stay as given). */
  setMessages(messages: readonly ChatMessage[]): void {
    this.#request.messages = messages;
  }

  /** Replaces `extra[field]` alone (a typed field of the same name, if set, still wins in the body). */
  setExtra(field: string, value: unknown): void {
    this.#extra[field] = value;
  }

  drop(field: string, why: string): void {
    if (TYPED.has(field)) delete (this.#request as Record<string, unknown>)[field];
    delete this.#extra[field];
    this.notes.push(`dropped \`${field}\`: ${why}`);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** `INVALID_REQUEST`: "Expected `temperature` for kimi model `kimi-k2.5` to be ..., got `1.5` (number)". */
  refuse(field: string, expected: string, got: unknown = this.get(field)): TroupeError {
    return providerError(
      'INVALID_REQUEST',
      `Expected \`${field}\` for ${this.vendor} model \`${this.model}\` to be ${expected}, got ${describe(got)}`,
    );
  }

  /** Refuses a number outside [min, max] (inclusive). */
  range(field: string, min: number, max: number): void {
    const value = this.get(field);
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      throw this.refuse(field, `a number from ${min} to ${max}`);
    }
  }

  finish(): { readonly request: ChatRequest; readonly notes: readonly string[] } {
    const request: Mutable<ChatRequest> = { ...this.#request };
    if (Object.keys(this.#extra).length > 0) request.extra = this.#extra;
    else delete request.extra;
    return { request, notes: this.notes };
  }
}
