/**
 * Moonshot's files flow for multi-file chat (platform.kimi.ai/docs/api/files-upload, files-list,
 * files-content): upload with purpose `file-extract`, read the extracted text, send it as system
 * messages, then delete the uploads however the call ended.
 *
 * Each upload's name starts with a prefix of its own call (`troupe-<12 hex>-`), so that an upload
 * cut off after Moonshot stored it but before its id came back can still be found: after such a
 * failure the files are listed (`GET /v1/files`) and those whose `filename` starts with the
 * prefix are deleted. The prefix is taken out of the extracted content (Moonshot's JSON repeats
 * the `filename`), so the model sees the caller's own file name.
 *
 * Moonshot's list has no paging: no query parameters, and its answer is `{ object, data }` with
 * every file of the account (at most 1,000), so one read sees them all. An upload Moonshot stores
 * only after that read is looked for once more, halfway through `deleteTimeoutMs`; one stored later
 * still is looked for at the end of this provider's next multi-file call (`LostUploads`).
 */
import { randomBytes } from 'node:crypto';
import type OpenAI from 'openai';
import { toFile } from 'openai/core/uploads';
import { pause, steadyClock } from '../core/clock.js';
import type { FilesHandler } from './files.js';

/** A call's upload name prefix, `troupe-<12 hex>-`, and the pattern that reads it back off a file name. */
const newPrefix = () => `troupe-${randomBytes(6).toString('hex')}-`;
const PREFIX = /^troupe-[0-9a-f]{12}-/;

/**
 * Uploads and reads use the call's signal, so the session's deadline and cancellation stop them;
 * the list and the deletes use their own timeout (`deleteTimeoutMs`) because they run after the
 * call ended.
 */
export function moonshotFiles(deleteTimeoutMs: number): FilesHandler {
  const lost = new LostUploads();
  return async (files, { client, signal, toError }) => {
    const prefix = newPrefix();
    const uploaded: string[] = [];
    const release = async () => {
      await Promise.allSettled([
        ...uploaded.map((id) => client.files.delete(id, { signal: AbortSignal.timeout(deleteTimeoutMs) })),
        lost.lookAgain(client, deleteTimeoutMs),
      ]);
    };
    let unanswered = 0;
    try {
      const settled = await Promise.allSettled(
        files.map(async (file) => {
          const upload = await toFile(Buffer.from(file.data), `${prefix}${file.name}`, {
            type:
              file.mimeType ?? (typeof file.data === 'string' ? 'text/plain' : 'application/octet-stream'),
          });
          try {
            // `file-extract` is Moonshot's purpose; the SDK's type lists only OpenAI's.
            const created = await client.files.create(
              { file: upload, purpose: 'file-extract' as 'user_data' },
              { signal },
            );
            uploaded.push(created.id);
            return created.id;
          } catch (error) {
            // No HTTP status: aborted, timed out or cut, so the server may have stored it.
            if ((error as { status?: unknown }).status === undefined) unanswered++;
            throw error;
          }
        }),
      );
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      const ids = settled.map((s) => (s as PromiseFulfilledResult<string>).value);
      const texts = await Promise.all(
        ids.map(async (id) => (await client.files.content(id, { signal })).text()),
      );
      const messages = texts.map((text) => ({
        role: 'system' as const,
        content: text.split(prefix).join(''),
      }));
      return { messages, release };
    } catch (error) {
      // The known ids and the search run side by side, so the call ends within one timeout.
      const search =
        unanswered > 0
          ? sweep(client, { prefix, known: uploaded, unanswered, timeoutMs: deleteTimeoutMs }).then((found) =>
              lost.note(prefix, unanswered - found),
            )
          : undefined;
      await Promise.all([release(), search]);
      throw toError(error, signal, 'file upload');
    }
  };
}

interface Search {
  readonly prefix: string;
  /** The ids that came back: deleted by id, not searched for. */
  readonly known: readonly string[];
  /** Uploads that got no HTTP answer: each stored one file at most (the SDK retries none). */
  readonly unanswered: number;
  readonly timeoutMs: number;
}

/**
 * Deletes the files named with this call's prefix whose ids never came back, within one
 * `timeoutMs`. When the first list shows fewer of them than uploads went unanswered, the rest may
 * still be on their way into Moonshot's store: the list is read once more, halfway through
 * `timeoutMs` (the second half is for that list and its deletes). Never throws; returns how many
 * it found.
 */
async function sweep(client: OpenAI, search: Search): Promise<number> {
  const { prefix, known, timeoutMs } = search;
  const signal = AbortSignal.timeout(timeoutMs);
  const halfwayAt = steadyClock.now() + timeoutMs / 2;
  const found = new Set<string>();
  const look = async () => {
    const page = await client.files.list(undefined, { signal });
    const orphans = page.data.filter(
      (f) => f.filename.startsWith(prefix) && !known.includes(f.id) && !found.has(f.id),
    );
    for (const f of orphans) found.add(f.id);
    await Promise.allSettled(orphans.map((f) => client.files.delete(f.id, { signal })));
  };
  try {
    await look();
    if (found.size >= search.unanswered) return found.size;
    await pause(steadyClock, Math.max(0, halfwayAt - steadyClock.now()), signal);
    if (!signal.aborted) await look();
  } catch {
    // The list failed or timed out: nothing more can be found.
  }
  return found.size;
}

/** Calls whose unanswered uploads were not all found, kept at most this long. */
const LOST_MS = 10 * 60_000;
/** Calls kept at once; one more forgets the oldest. */
const MAX_LOST = 64;

/**
 * Uploads a call gave up on that its search did not find: Moonshot may store one after the
 * search's last list (its request still under way there). Each is kept by its call's prefix, and the
 * next multi-file call of the provider, as it ends, reads the list once more and deletes what
 * matches, within its own `deleteTimeoutMs`. Until 2026-12-06 such a file stayed on the account.
 * Bounded: `MAX_LOST` calls, each for `LOST_MS`; one list at a time.
 */
class LostUploads {
  /** Uploads still missing, and until when they are looked for, by call prefix. */
  private readonly missing = new Map<string, { count: number; until: number }>();
  private looking = false;

  note(prefix: string, count: number): void {
    if (count <= 0) return;
    if (this.missing.size >= MAX_LOST) this.missing.delete(this.missing.keys().next().value as string);
    this.missing.set(prefix, { count, until: steadyClock.now() + LOST_MS });
  }

  /** Reads the list once and deletes the lost uploads it shows. Never throws. */
  async lookAgain(client: OpenAI, timeoutMs: number): Promise<void> {
    const now = steadyClock.now();
    for (const [prefix, { until }] of this.missing) if (until <= now) this.missing.delete(prefix);
    if (this.missing.size === 0 || this.looking) return;
    this.looking = true;
    try {
      const signal = AbortSignal.timeout(timeoutMs);
      const page = await client.files.list(undefined, { signal });
      const deletes: Promise<unknown>[] = [];
      for (const file of page.data) {
        const prefix = PREFIX.exec(file.filename)?.[0];
        const entry = prefix === undefined ? undefined : this.missing.get(prefix);
        if (prefix === undefined || entry === undefined) continue;
        deletes.push(client.files.delete(file.id, { signal }));
        if (--entry.count === 0) this.missing.delete(prefix);
      }
      await Promise.allSettled(deletes);
    } catch {
      // The list failed or timed out: looked for again at the next call's end.
    } finally {
      this.looking = false;
    }
  }
}
