/**
 * How a protocol schema is checked, on either side of the wire: one Ajv set up like the HTTP
 * surfaces (the strict grammars as formats) but without type coercion, and one way to turn a
 * schema failure into a ValidationError that names the field as a person writes it
 * (`mailboxes[2].address`) with the grammar's own reason.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Static, TSchema } from '@sinclair/typebox';
import { ValidationError } from '../core/errors.ts';
import type { Checker } from '../core/grammar.ts';
import { PROTOCOL_FORMATS } from './formats.ts';

/**
 * The annotation a schema carries for the sentence a refusal should say (`reason: 'must be a whole
 * number from 0 to …'`), where Ajv's own words would not tell a person what to write instead.
 */
export const REASON_KEYWORD = 'reason';

/** Registers the protocol's formats and the reason annotation on an Ajv (also Fastify's own). */
export function addProtocolVocabulary(ajv: Ajv, formats: Record<string, Checker> = PROTOCOL_FORMATS): Ajv {
  for (const [name, checker] of Object.entries(formats)) {
    ajv.addFormat(name, { type: 'string', validate: (value: string) => checker(value) === null });
  }
  if (!ajv.getKeyword(REASON_KEYWORD)) ajv.addKeyword({ keyword: REASON_KEYWORD, schemaType: 'string' });
  return ajv;
}

/** Ajv options shared by every protocol check: the first failure only (no DoS by error lists), parent schemas kept for reasons. */
export function protocolAjv(coerce: boolean): Ajv {
  return addProtocolVocabulary(
    new Ajv({ allErrors: false, verbose: true, coerceTypes: coerce ? 'array' : false, useDefaults: coerce, removeAdditional: false, addUsedSchema: false }),
  );
}

/** Untrusted JSON is never coerced: "100" is not a quota and "true" is not a boolean. */
const strictAjv = protocolAjv(false);
const compiled = new WeakMap<TSchema, ValidateFunction>();

export function compileStrict(schema: TSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = strictAjv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

function valueAt(root: unknown, segments: readonly string[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/**
 * 'protocol' names fields as the validators always did (`mailboxes[2].address`); 'api' keeps the
 * parent API's spelling (`destinations.0`), which its clients already read.
 */
export type FieldStyle = 'protocol' | 'api';

function fieldPath(segments: readonly string[], style: FieldStyle): string {
  if (style === 'api') return segments.map((segment) => `.${segment}`).join('');
  return segments.map((segment) => (/^[0-9]+$/.test(segment) ? `[${segment}]` : `.${segment}`)).join('');
}

const TYPE_REASONS: Record<string, string> = {
  array: 'must be an array',
  object: 'must be an object',
  boolean: 'must be true or false',
  string: 'must be a string',
  integer: 'must be a whole number',
  number: 'must be a number',
};

type Issue = Pick<ErrorObject, 'instancePath' | 'keyword' | 'params' | 'message'> & { parentSchema?: unknown };

function constantsOf(schema: unknown): string[] | null {
  const branches = (schema as { anyOf?: unknown[] } | undefined)?.anyOf;
  if (!Array.isArray(branches) || branches.length === 0) return null;
  const values = branches.map((branch) => (branch as { const?: unknown }).const);
  return values.every((value) => typeof value === 'string') ? (values as string[]) : null;
}

/**
 * Names the field and the reason of a schema failure. Ajv stops at the first failure, except that
 * a union lists every branch's failure before its own, so the last issue is the one that decides.
 * `at` is prepended to the path; `root` names a failure of the whole value.
 */
export function describeIssues(
  issues: readonly Issue[],
  value: unknown,
  options: { at?: string; root?: string; style?: FieldStyle } = {},
): { field: string; reason: string } {
  const { at = '', root = 'body', style = 'protocol' } = options;
  // The parent API has always reported a union's first branch; its clients keep that answer.
  const issue = style === 'api' ? issues[0]! : issues[issues.length - 1]!;
  const segments = issue.instancePath.split('/').filter(Boolean).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let reason = issue.message ?? 'is invalid';
  if (issue.keyword === 'required') {
    segments.push(String(issue.params.missingProperty));
    reason = 'is required';
  } else if (issue.keyword === 'additionalProperties') {
    segments.push(String(issue.params.additionalProperty));
    reason = 'is not a known field';
  } else {
    const parent = style === 'api' ? undefined : (issue.parentSchema as Record<string, unknown> | undefined);
    const constants = constantsOf(parent);
    if (typeof parent?.[REASON_KEYWORD] === 'string') reason = parent[REASON_KEYWORD] as string;
    else if (issue.keyword === 'format') {
      const checker = PROTOCOL_FORMATS[String(issue.params.format)];
      const bad = valueAt(value, segments);
      reason = (checker !== undefined && typeof bad === 'string' ? checker(bad) : null) ?? reason;
    } else if (issue.keyword === 'type' && style === 'protocol') reason = TYPE_REASONS[String(issue.params.type)] ?? reason;
    else if (constants) reason = `must be one of ${constants.join(', ')}`;
  }
  const path = `${at}${fieldPath(segments, style)}`.replace(/^\./, '');
  return { field: path === '' ? root : path, reason };
}

/**
 * Checks `value` against `schema` and returns it typed, or throws a ValidationError naming the
 * first bad field. The value is not copied; callers that keep it build their own copy.
 */
export function checkSchema<S extends TSchema>(schema: S, value: unknown, options: { at?: string; root?: string } = {}): Static<S> {
  const validate = compileStrict(schema);
  if (!validate(value)) {
    const { field, reason } = describeIssues(validate.errors ?? [], value, { at: options.at ?? '', root: options.root ?? (options.at || 'body') });
    throw new ValidationError(field, reason);
  }
  return value as Static<S>;
}
