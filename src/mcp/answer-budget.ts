/**
 * The bytes of stored data one HTTP request's answers may carry. The SDK takes up to 100 JSON-RPC
 * messages in one 2025-era POST and answers each; each answer that reads stored data is bounded
 * (a `sessions` page, one task's result once a request), but 100 distinct ones still multiply: 100
 * `sessions` pages (up to about 100 KB each) or 100 distinct tasks' results from one small request.
 * Every message of a batch gets the same request object (`ctx.http.req`, the SDK's web `Request`),
 * so the answers of one request are counted together here; past `ANSWER_BUDGET_BYTES`, a message
 * that would add more is refused with -32600 saying to send it in a request of its own. It loses
 * nothing: the data stays readable in a later request. The first answer of a request is never
 * refused, so a single-message request never is; stdio and in-process calls (no HTTP request)
 * are not counted.
 */
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';

/**
 * The bytes of stored data (session lists, task results) one HTTP request's answers carry at most,
 * the first answer whatever its size: about 30 full `sessions` pages, which no single call comes near.
 */
export const ANSWER_BUDGET_BYTES = 1024 * 1024;

/** Bytes of stored data each HTTP request's answers carried so far. */
const spentBy = new WeakMap<object, number>();

/** The refusal: a JSON-RPC -32600 naming the bound; the client sends the message again on its own. */
export class AnswerBudgetSpent extends ProtocolError {
  constructor(spent: number, bytes?: number) {
    super(
      ProtocolErrorCode.InvalidRequest,
      `Expected the answers of one HTTP request to carry at most ${ANSWER_BUDGET_BYTES} bytes of stored data (sessions lists, task results), got ${spent} already${bytes === undefined ? '' : ` and ${bytes} more for this message`}: the answer budget of this HTTP request is spent; send this message in a request of its own (nothing is lost: the data stays readable)`,
    );
  }
}

/**
 * Throws `AnswerBudgetSpent` when `request`'s answers have carried the whole budget already: called
 * before building an answer, so a spent request makes the server build nothing more.
 */
export function checkAnswerBudget(request: object | undefined): void {
  if (request === undefined) return;
  const spent = spentBy.get(request) ?? 0;
  if (spent >= ANSWER_BUDGET_BYTES) throw new AnswerBudgetSpent(spent);
}

/**
 * Counts an answer of `bytes()` to `request`, or throws `AnswerBudgetSpent` when earlier answers
 * of the same request carried some and this one would take them past the budget. Call it in the
 * same synchronous step as building the answer: the messages of a batch run interleaved, and one
 * that counted after an `await` would let the others pass its check meanwhile. `bytes` is asked
 * only for an HTTP request: stdio and tasks measure nothing.
 */
export function takeAnswerBytes(request: object | undefined, bytesOf: () => number): void {
  if (request === undefined) return;
  const bytes = bytesOf();
  const spent = spentBy.get(request) ?? 0;
  if (spent > 0 && spent + bytes > ANSWER_BUDGET_BYTES) throw new AnswerBudgetSpent(spent, bytes);
  spentBy.set(request, spent + bytes);
}
