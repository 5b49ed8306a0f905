/**
 * A tool argument zod refused, in troupe's words: "Expected `priority` to be an integer from 0 to 9,
 * got `12` (number)" (STYLE.md, 8), naming the argument, the bound and what came. Until 2026-12-07 a
 * bound kept zod's own words ("`priority`: Too big: expected number to be <=9, got `12` (number)").
 *
 * `argumentError` is a per-parse error map (`safeParse(raw, { error })`, zod v4's "per-parse error
 * customization"): a schema's or a refinement's own message still wins over it, and nothing global
 * changes (`z.config` would reword every zod error in the process, the SDK's and an embedding host's
 * too). troupe's tools are validated by troupe (`tool-calls.ts` answers `tools/call` itself), so the
 * SDK's own validation and its -32602 never see these schemas; the spec methods' params, which the
 * SDK answers, troupe checks first with the same words (`spec-params.ts`). Kinds it has no words
 * for (a refinement, a union of them) return `undefined`, and zod's message stands.
 */
import type * as z from 'zod';
import { describe } from '../core/errors.js';
import { typeNoun } from '../core/type-noun.js';

/** What a check of a schema says, as zod v4 keeps it in `_zod.def.checks` (the JSON Schema reads it too). */
interface CheckDef {
  readonly check?: string;
  readonly format?: string;
  readonly value?: number | bigint;
  readonly inclusive?: boolean;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly length?: number;
  readonly size?: number;
}

/** A schema's own definition: its checks, and for a number format (`z.int()`) its format too. */
type Def = CheckDef & { readonly checks?: readonly { readonly _zod: { readonly def: CheckDef } }[] };

/** An issue as the map gets it: zod's raw issue, with the value that came and the schema it broke. */
export type ArgumentIssue = z.core.$ZodRawIssue & { readonly schema?: unknown };

/** The most keys a refusal names, and the most characters of one. */
const MAX_KEYS_NAMED = 5;
const MAX_KEY_CHARS = 40;

/** `` `messages.0.role` ``, or "the arguments" for the arguments as a whole. */
export function argumentName(path: readonly PropertyKey[] | undefined): string {
  return path === undefined || path.length === 0 ? 'the arguments' : `\`${path.map(shownKey).join('.')}\``;
}

/**
 * A key on one line and short: a path's key may be the client's own (a record's, `params.arguments`'
 * names), so one with a line break or of 64 KiB is escaped and cut, not echoed whole.
 */
function shownKey(key: PropertyKey): string {
  const text = JSON.stringify(String(key)).slice(1, -1);
  return text.length > MAX_KEY_CHARS ? `${text.slice(0, MAX_KEY_CHARS - 1)}…` : text;
}

/**
 * `schema` parsed with `argumentError` as its per-parse map: the value, or one line an issue. An
 * issue it has no words for keeps zod's (or a refinement's) own after the argument's name, with what
 * came: "`prompt`: Expected `prompt` or `messages`, got none". Shared by the tools (`tool.ts`) and
 * the spec methods' params (`spec-params.ts`).
 */
export function parseArguments<S extends z.ZodType>(
  schema: S,
  raw: unknown,
): { ok: true; data: z.output<S> } | { ok: false; problems: string[] } {
  // The messages worded here (an `undefined` among them matches no issue's message).
  const worded = new Set<string | undefined>();
  const parsed = schema.safeParse(raw, {
    error: (issue) => {
      const message = argumentError(issue);
      worded.add(message);
      return message;
    },
  });
  if (parsed.success) return { ok: true, data: parsed.data };
  const problems = parsed.error.issues.map((issue) => {
    if (worded.has(issue.message)) return issue.message;
    if (issue.path.length === 0) return `arguments: ${issue.message}`;
    const got = valueAt(raw, issue.path);
    return `${argumentName(issue.path)}: ${issue.message}, got ${got === undefined ? 'none' : describe(got)}`;
  });
  return { ok: false, problems };
}

/** What `raw` holds at `path`; `undefined` past what it has. */
function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (value, key) =>
      value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined,
    raw,
  );
}

/** The message for `issue`, or `undefined` to leave zod's. */
export function argumentError(issue: ArgumentIssue): string | undefined {
  const name = argumentName(issue.path);
  const got = issue.input === undefined ? 'none' : describe(issue.input);
  switch (issue.code) {
    case 'invalid_type': {
      // A number's kind says its range too: "an integer from 0 to 9" for `"5"` as for `2.5`.
      // `int`: a fraction given to an integer (whose schema says so: `z.int()`, `.int()`).
      const numeric = issue.expected === 'number' || issue.expected === 'int';
      // Stryker disable next-line ArrayDeclaration: an entry that is no check matches no bound (equivalent).
      const kind = numeric ? numberKind(issue.schema, false, []) : typeNoun(issue.expected);
      return `Expected ${name} to be ${kind}, got ${got}`;
    }
    case 'too_big':
    case 'too_small':
      return `Expected ${name} to be ${bounded(issue, issue.schema)}, got ${sized(issue.input, got)}`;
    case 'invalid_value':
      return `Expected ${name} to be ${literals(issue.values)}, got ${got}`;
    case 'invalid_union': {
      const picked = pickedOption(issue);
      if (picked !== undefined) return picked;
      const forms = unionForms(issue.errors);
      return forms === undefined ? unknownTag(issue) : `Expected ${name} to be ${forms}, got ${got}`;
    }
    case 'unrecognized_keys':
      return `Expected ${name} to have only ${knownKeys(issue.inst)}, got unknown ${keyList(issue.keys)}`;
    case 'invalid_format':
      return `Expected ${name} to ${formatWanted(issue)}, got ${got}`;
    case 'not_multiple_of':
      return `Expected ${name} to be a multiple of ${issue.divisor}, got ${got}`;
    // Stryker disable next-line ConditionalExpression: without it the switch falls out to the same `undefined` (equivalent).
    default:
      return undefined;
  }
}

function defOf(schema: unknown): Def | undefined {
  return (schema as { _zod?: { def?: Def } } | undefined)?._zod?.def;
}

function checksOf(schema: unknown): readonly CheckDef[] {
  return (defOf(schema)?.checks ?? []).map((c) => c._zod.def);
}

/** An integer format: `z.int()` itself, or `.int()` among a number's checks. */
const intFormat = (def: CheckDef | undefined) =>
  def?.check === 'number_format' && /int/.test(String(def.format));

/** "an integer from 0 to 9", "a number from 0 to 2", "an integer of at least 1": the schema's whole range. */
function numberKind(schema: unknown, int: boolean, implied: readonly CheckDef[]): string {
  // A bound the schema does not state (`z.int()`'s safe range) comes after its own checks.
  const checks = [...checksOf(schema), ...implied];
  const isInt = int || intFormat(defOf(schema)) || checks.some(intFormat);
  const noun = isInt ? 'an integer' : 'a number';
  const low = checks.find((c) => c.check === 'greater_than');
  const high = checks.find((c) => c.check === 'less_than');
  // An integer's exclusive bound is the next integer's inclusive one (`positive()`: from 1).
  const min =
    low === undefined
      ? undefined
      : {
          at: isInt && !low.inclusive ? Number(low.value) + 1 : low.value,
          inclusive: isInt || low.inclusive,
        };
  const max =
    high === undefined
      ? undefined
      : {
          at: isInt && !high.inclusive ? Number(high.value) - 1 : high.value,
          inclusive: isInt || high.inclusive,
        };
  if (min?.inclusive && max?.inclusive) return `${noun} from ${min.at} to ${max.at}`;
  const parts = [
    min === undefined ? '' : `${min.inclusive ? 'at least' : 'greater than'} ${min.at}`,
    max === undefined ? '' : `${max.inclusive ? 'at most' : 'less than'} ${max.at}`,
  ].filter((part) => part !== '');
  return parts.length === 0 ? noun : `${noun} of ${parts.join(' and ')}`;
}

/** The bound a length or size broke, as the whole range the schema allows. */
function bounded(issue: ArgumentIssue & { code: 'too_big' | 'too_small' }, schema: unknown): string {
  const origin = issue.origin;
  // A bigint, and `z.int()`'s safe range (origin `int`), are integers.
  if (origin === 'number' || origin === 'int' || origin === 'bigint') {
    const implied: CheckDef =
      issue.code === 'too_big'
        ? { check: 'less_than', value: issue.maximum, inclusive: issue.inclusive ?? true }
        : { check: 'greater_than', value: issue.minimum, inclusive: issue.inclusive ?? true };
    return numberKind(schema, origin !== 'number', [implied]);
  }
  const unit = origin === 'string' ? 'character' : 'item';
  const noun = origin === 'array' ? 'an array' : `a ${origin}`;
  const checks = checksOf(schema);
  const find = (...kinds: string[]) => checks.find((c) => kinds.includes(String(c.check)));
  const exact = find('length_equals', 'size_equals');
  if (exact !== undefined) return `${noun} of exactly ${count(exact.length ?? exact.size ?? 0, unit)}`;
  const min = find('min_length', 'min_size')?.minimum;
  const max = find('max_length', 'max_size')?.maximum;
  if (min !== undefined && max !== undefined) return `${noun} of ${min} to ${count(max, unit)}`;
  if (max !== undefined) return `${noun} of at most ${count(max, unit)}`;
  return `${noun} of at least ${count(min ?? 0, unit)}`;
}

/** What came for a length bound: its length, never the value (a 10 MB string is told by its size). */
function sized(input: unknown, got: string): string {
  if (typeof input === 'string') return count(input.length, 'character');
  if (Array.isArray(input)) return count(input.length, 'item');
  if (input instanceof Set || input instanceof Map) return count(input.size, 'item');
  return got;
}

function count(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** "`"debug"`", or "one of `"debug"`, `"info"`". */
function literals(values: readonly unknown[]): string {
  const shown = values.map((v) => describeLiteral(v));
  return shown.length === 1 ? String(shown[0]) : `one of ${shown.join(', ')}`;
}

/**
 * A union's forms, from each branch's issues (each already worded): "a string or a number", or an
 * object's fields, "{ type: `"ref/prompt"`, name: a string } or { type: `"ref/resource"`, uri: a string }".
 * `undefined`, and zod's words, when a branch failed on a kind named here by no noun (a bound, a
 * refinement) or none did (a discriminated union that matched no branch).
 */
function unionForms(branches: readonly (readonly z.core.$ZodIssue[])[]): string | undefined {
  const forms = branches.map((branch) => {
    const top = branch.find((i) => i.path.length === 0);
    if (top !== undefined) return wantedNoun(top);
    const fields = branch.map((i) => {
      const noun = wantedNoun(i);
      return noun === undefined ? undefined : `${i.path.map(shownKey).join('.')}: ${noun}`;
    });
    // A branch that failed has an issue: `fields` is never empty.
    return fields.includes(undefined) ? undefined : `{ ${fields.join(', ')} }`;
  });
  if (forms.length === 0 || forms.includes(undefined)) return undefined;
  return [...new Set(forms)].join(' or ');
}

/** A union's objects told apart by a literal at one key (`type`), as zod v4 keeps their literals. */
interface Tagged {
  readonly key: string;
  /** Each option's values at `key`, in the options' order. */
  readonly values: readonly (readonly unknown[])[];
}

/**
 * The key every option of a `z.union` of objects has a literal at, no value in two options: MCP's
 * content blocks by `type` (the SDK's `ContentBlockSchema` is such a union, not a discriminated one).
 */
function taggedOptions(inst: unknown): Tagged | undefined {
  // zod's own schemas: each has `_zod`, a union's `def.options`, an object's `propValues` (maybe none).
  type Option = { _zod: { propValues?: Record<string, ReadonlySet<unknown>> } };
  const options = (inst as { _zod?: { def?: { options?: readonly Option[] } } } | undefined)?._zod?.def
    ?.options;
  if (options === undefined) return undefined;
  const literals = options.map((option) => option._zod.propValues ?? {});
  const at = (option: Record<string, ReadonlySet<unknown>>, key: string) => [
    ...(option[key] as ReadonlySet<unknown>),
  ];
  const key = Object.keys(literals[0] ?? {}).find((k) => {
    if (!literals.every((option) => option[k] !== undefined)) return false;
    const all = literals.flatMap((option) => at(option, k));
    return new Set(all).size === all.length;
  });
  return key === undefined ? undefined : { key, values: literals.map((option) => at(option, key)) };
}

/**
 * A tagged union whose value names one option by its tag: that option's first issue, at its whole
 * path ("Expected `content.0.text` to be a string, got none"), not every option's forms (zod: "Invalid
 * input"). Its issues were worded at their path inside the option, so the first is worded again here.
 */
function pickedOption(issue: ArgumentIssue & { code: 'invalid_union' }): string | undefined {
  const tagged = taggedOptions(issue.inst);
  const input = issue.input;
  // A primitive's tag reads `undefined`, which no option has.
  if (tagged === undefined || input === null || input === undefined) return undefined;
  const tag = (input as Record<string, unknown>)[tagged.key];
  const first = issue.errors[tagged.values.findIndex((values) => values.includes(tag))]?.[0];
  if (first === undefined) return undefined;
  const path = [...(issue.path ?? []), ...first.path];
  const at = valueAt(input, first.path);
  const worded = argumentError({ ...first, path, input: at } as ArgumentIssue);
  return worded ?? `${argumentName(path)}: ${first.message}, got ${at === undefined ? 'none' : describe(at)}`;
}

/**
 * A tagged union's value whose tag names no option: the tag's refusal, "Expected `content.0.type` to
 * be one of `"text"`, `"image"`, got `"video"` (string)". A `z.discriminatedUnion` names its key and
 * values itself (its options may share more than one literal key), and its issue is at that key.
 */
function unknownTag(issue: ArgumentIssue & { code: 'invalid_union' }): string | undefined {
  const given = issue as { discriminator?: string; options?: readonly unknown[] };
  const tagged =
    given.discriminator === undefined
      ? taggedOptions(issue.inst)
      : { key: given.discriminator, values: [given.options as readonly unknown[]] };
  const input = issue.input;
  if (tagged === undefined || typeof input !== 'object' || input === null) return undefined;
  const path = given.discriminator === undefined ? [...(issue.path ?? []), tagged.key] : issue.path;
  const tag = (input as Record<string, unknown>)[tagged.key];
  return `Expected ${argumentName(path)} to be ${literals(tagged.values.flat())}, got ${tag === undefined ? 'none' : describe(tag)}`;
}

/** What an issue of a union's branch asked for, as a noun; `undefined` for a kind that names none. */
function wantedNoun(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code === 'invalid_type')
    return issue.expected === 'int' ? 'an integer' : typeNoun(issue.expected);
  if (issue.code === 'invalid_value') return literals(issue.values);
  return undefined;
}

function describeLiteral(value: unknown): string {
  return `\`${typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value))}\``;
}

function keyList(keys: readonly string[]): string {
  const named = keys.slice(0, MAX_KEYS_NAMED).map((k) => `\`${shownKey(k)}\``);
  const more = keys.length - named.length;
  const list = named.join(', ');
  return more > 0 ? `${list} and ${more} more` : list;
}

/** The fields an object schema takes, from its shape; "known fields" when it has none to name. */
function knownKeys(inst: unknown): string {
  const shape = (inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def?.shape;
  const keys = shape === undefined ? [] : Object.keys(shape);
  return keys.length === 0 ? 'known fields' : keys.map((k) => `\`${k}\``).join(', ');
}

function formatWanted(issue: ArgumentIssue & { code: 'invalid_format' }): string {
  const given = issue as { prefix?: string; suffix?: string; includes?: string; pattern?: string };
  switch (issue.format) {
    case 'starts_with':
      return `start with ${describe(given.prefix)}`;
    case 'ends_with':
      return `end with ${describe(given.suffix)}`;
    case 'includes':
      return `include ${describe(given.includes)}`;
    case 'regex':
      return `match \`${given.pattern}\``;
    default:
      return `be a valid ${issue.format}`;
  }
}
