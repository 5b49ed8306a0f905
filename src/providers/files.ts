/**
 * Files on a chat request. The port says adapters with a files API upload them within the call
 * and delete them however it ends; the rest inline the text. This file holds the hook's shape and
 * the inline default; Kimi's upload handler lives in `kimi.ts`.
 */
import type OpenAI from 'openai';
import type { TroupeError } from '../core/errors.js';
import type { ChatFile, ChatMessage } from './port.js';

export interface FilesContext {
  /** The provider's SDK client (same transport, key and headers as its chat calls). */
  readonly client: OpenAI;
  /** The call's signal: uploads stop when the session ends. */
  readonly signal: AbortSignal;
  readonly provider: string;
  /** Maps a failure to a provider error with the provider's secrets scrubbed. */
  toError(error: unknown, signal: AbortSignal, operation: string): TroupeError;
}

export interface PreparedFiles {
  /** Messages placed before the first non-system message of the request. */
  readonly messages: readonly ChatMessage[];
  /** Called once the call ends, however it ends; never throws. */
  release(): Promise<void>;
}

export type FilesHandler = (files: readonly ChatFile[], context: FilesContext) => Promise<PreparedFiles>;

const decoder = new TextDecoder('utf-8', { fatal: false });

export function fileText(file: ChatFile): string {
  return typeof file.data === 'string' ? file.data : decoder.decode(file.data);
}

/** The default: each file's text as one system message, named, with nothing to clean up. */
export const inlineFiles: FilesHandler = async (files) => ({
  messages: files.map((file) => ({ role: 'system', content: `File: ${file.name}\n\n${fileText(file)}` })),
  release: async () => {},
});
