/**
 * The actor that runs a compiled machine (`compile.ts`): the tables it reads and the
 * XState semantics it keeps, namely one event at a time with a mailbox, a new context per
 * `assign`, and status `error` when an action throws. Actions and guards get no params (the
 * compiler refuses them), as XState calls an action named by a string: with `undefined`.
 */

export class UnsupportedMachineError extends Error {
  override readonly name = 'UnsupportedMachineError';
}

export type Args<C, E> = { readonly context: C; readonly event: E };

/** One action, resolved at compile time. */
export type Step =
  | {
      readonly kind: 'assign';
      /** The function form of `assign`, or `null` for the object form in `keys` and `values`. */
      readonly update: ((args: unknown) => object) | null;
      readonly keys: readonly string[];
      readonly values: readonly unknown[];
    }
  | { readonly kind: 'exec'; readonly exec: (args: unknown) => void };

export interface Candidate<C, E> {
  readonly guard: ((args: Args<C, E>) => boolean) | null;
  readonly next: Leaf<C, E>;
  readonly steps: readonly Step[];
}

export interface Leaf<C, E> {
  readonly id: string;
  readonly value: unknown;
  readonly done: boolean;
  readonly on: Map<string, readonly Candidate<C, E>[]>;
}

export interface CompiledSnapshot<C> {
  readonly value: unknown;
  readonly status: 'active' | 'done' | 'error';
  readonly context: C;
  /** What an action threw, when `status` is `error`. */
  readonly error?: unknown;
}

/**
 * Told of every event a compiled actor handles, for inspection: `event` before it is handled,
 * `snapshot` after (whether or not it made a transition). A started actor reports the
 * `xstate.init` event first, as XState does.
 */
export interface ActorWatch<C, E extends { readonly type: string }> {
  event(actor: CompiledActor<C, E>, event: E): void;
  snapshot(actor: CompiledActor<C, E>, event: E): void;
}

/**
 * Runs a compiled machine: events are handled one at a time, and one sent while another is handled
 * waits its turn. As with an XState actor, an action that throws puts the actor in status `error`
 * (later events are ignored) instead of throwing out of `send`.
 */
export class CompiledActor<C, E extends { readonly type: string }> {
  context: C;
  private leaf: Leaf<C, E>;
  private failure: { readonly error: unknown } | null = null;
  private snapshot: CompiledSnapshot<C> | null = null;
  private processing = false;
  private mailbox: E[] | null = null;

  constructor(
    leaf: Leaf<C, E>,
    context: C,
    private readonly watch: ActorWatch<C, E> | null = null,
  ) {
    this.leaf = leaf;
    this.context = context;
  }

  getSnapshot(): CompiledSnapshot<C> {
    const status = this.failure !== null ? 'error' : this.leaf.done ? 'done' : 'active';
    const last = this.snapshot;
    if (
      last === null ||
      last.context !== this.context ||
      last.value !== this.leaf.value ||
      last.status !== status
    ) {
      this.snapshot =
        this.failure === null
          ? { value: this.leaf.value, status, context: this.context }
          : { value: this.leaf.value, status, context: this.context, error: this.failure.error };
    }
    return this.snapshot as CompiledSnapshot<C>;
  }

  send(event: E): void {
    if (this.processing) {
      // Stryker disable next-line ArrayDeclaration: a junk entry has no `type`, and no state handles an undefined event type.
      if (this.mailbox === null) this.mailbox = [];
      this.mailbox.push(event);
      return;
    }
    this.processing = true;
    try {
      this.step(event);
      this.drain();
    } catch (error) {
      this.failure = { error };
    } finally {
      this.processing = false;
      this.mailbox = null;
    }
  }

  private drain(): void {
    const mailbox = this.mailbox;
    if (mailbox === null) return;
    // An action that throws ends the loop: `send` catches it and sets `failure`.
    while (mailbox.length > 0) this.step(mailbox.shift() as E);
  }

  private step(event: E): void {
    const watch = this.watch;
    if (watch === null) {
      this.transition(event);
      return;
    }
    watch.event(this, event);
    try {
      this.transition(event);
    } catch (error) {
      this.failure = { error };
      throw error;
    } finally {
      watch.snapshot(this, event);
    }
  }

  private transition(event: E): void {
    if (this.leaf.done || this.failure !== null) return;
    const candidates = this.leaf.on.get(event.type);
    if (candidates === undefined) return;
    const context = this.context;
    for (const candidate of candidates) {
      if (candidate.guard !== null && !candidate.guard({ context, event })) continue;
      // The new leaf is set after the actions, as an XState snapshot changes after its macrostep.
      const next = this.run(candidate.steps, context, event);
      this.leaf = candidate.next;
      this.context = next;
      return;
    }
  }

  /**
   * Runs resolved actions in order; each sees the context the ones before it left. Like XState, each
   * `assign` makes a new context object, and every property assigner sees the context from before it.
   */
  private run(steps: readonly Step[], start: C, event: E): C {
    let context = start;
    // One argument object for the transition's actions, each shown the context the ones before it
    // left: an object per action was seven a session. No action keeps it.
    const args = { context, event, spawn: noSpawn, self: this, system: undefined };
    for (const step of steps) {
      args.context = context;
      if (step.kind === 'exec') {
        step.exec(args);
        continue;
      }
      if (step.update !== null) {
        context = { ...context, ...step.update(args) } as C;
        continue;
      }
      // Into a fresh copy each value can go as it is computed: the assigners read `args.context`.
      const next = { ...context } as Record<string, unknown>;
      const { keys, values } = step;
      for (let i = 0; i < keys.length; i++) {
        const value = values[i];
        next[keys[i] as string] = typeof value === 'function' ? value(args) : value;
      }
      context = next as C;
    }
    return context;
  }
}

export function noSpawn(): never {
  throw new UnsupportedMachineError('spawn is not supported by a compiled machine');
}
