/**
 * How many files `multi_file_chat` holds open at once, across every call of the process. A call
 * opens each of its files when it checks it and keeps them open until it has read them all (so
 * nothing can be swapped between the check and the read: `files.ts`), up to `maxFiles` (20) at
 * once; many calls together could otherwise take the process's file descriptors (often 1,024 on
 * Linux, 256 on macOS) from its sockets. A call takes a place for each of its files before it
 * opens any, all at once (a call never holds some while it waits for more, so calls cannot hold each
 * other up), and waits behind the calls that asked before it.
 */

/** Files held open at once by every `multi_file_chat` call together (a call with more files takes them all). */
export const MAX_OPEN_FILES = 64;

export class HandleBudget {
  #free: number;
  readonly #waiting: { readonly n: number; readonly go: () => void }[] = [];

  constructor(readonly size: number) {
    this.#free = size;
  }

  /** Takes `n` places (all of them when `n` is more), waiting behind earlier takers. */
  take(n: number): Promise<void> {
    const want = Math.min(n, this.size);
    if (this.#waiting.length === 0 && this.#free >= want) {
      this.#free -= want;
      return Promise.resolve();
    }
    return new Promise((go) => this.#waiting.push({ n: want, go }));
  }

  /** Gives back what `take(n)` took; the earliest waiters whose places are free go, in order. */
  give(n: number): void {
    this.#free += Math.min(n, this.size);
    for (let next = this.#waiting[0]; next !== undefined && this.#free >= next.n; next = this.#waiting[0]) {
      this.#waiting.shift();
      this.#free -= next.n;
      next.go();
    }
  }

  /** Places taken now. */
  get taken(): number {
    return this.size - this.#free;
  }
}

/** The process's one budget for `multi_file_chat`'s open files. */
export const fileHandles = new HandleBudget(MAX_OPEN_FILES);
