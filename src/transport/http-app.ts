/**
 * The one way Fleetpanel builds an HTTP surface (parent API and agent API alike): Fastify with
 * TypeBox schemas, the strict grammars registered as JSON-schema formats, and errors mapped to a
 * status and a message that names the field.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions, type FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Ajv } from 'ajv';
import { FleetError, InternalError, NotFoundError, ValidationError } from '../core/errors.ts';
import { FORMATS } from '../core/grammar.ts';

export type HttpApp = FastifyInstance<
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  any,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  any,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  any,
  FastifyServerOptions['loggerInstance'] extends infer L ? (L extends undefined ? never : L) : never,
  TypeBoxTypeProvider
>;

function addFormats(ajv: Ajv): Ajv {
  for (const [name, checker] of Object.entries(FORMATS)) {
    ajv.addFormat(name, { type: 'string', validate: (value: string) => checker(value) === null });
  }
  return ajv;
}

function valueAt(root: unknown, pointer: string): unknown {
  let current = root;
  for (const segment of pointer.split('/').filter(Boolean)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[decodeURIComponent(segment)];
  }
  return current;
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** Turns a schema failure into `field: reason`, using the grammar's own words where one applies. */
function describeValidation(request: FastifyRequest, context: string | undefined, issue: AjvIssue): { field: string; message: string } {
  const where = context === 'querystring' ? request.query : context === 'params' ? request.params : request.body;
  let field = issue.instancePath.split('/').filter(Boolean).join('.');
  if (issue.keyword === 'required') field = [field, String(issue.params.missingProperty)].filter(Boolean).join('.');
  if (issue.keyword === 'additionalProperties') field = [field, String(issue.params.additionalProperty)].filter(Boolean).join('.');
  field ||= context ?? 'body';
  let reason = issue.message ?? 'is invalid';
  if (issue.keyword === 'format') {
    const checker = FORMATS[String(issue.params.format)];
    const value = valueAt(where, issue.instancePath);
    reason = (checker !== undefined && typeof value === "string" ? checker(value) : null) ?? reason;
  } else if (issue.keyword === 'required') reason = 'is required';
  else if (issue.keyword === 'additionalProperties') reason = 'is not a known field';
  return { field, message: `${field}: ${reason}` };
}

export function createHttpApp(options: FastifyServerOptions & { https?: unknown } = {}): HttpApp {
  const app = Fastify({
    logger: false,
    // Long values in a path (a 254-character domain) must reach the schema, which names the field.
    routerOptions: { maxParamLength: 2048 },
    ...options,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true }, plugins: [addFormats as never] },
  } as FastifyServerOptions).withTypeProvider<TypeBoxTypeProvider>() as unknown as HttpApp;

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof FleetError) {
      return reply.status(error.httpStatus).send(error.toJSON());
    }
    if (error.validation && error.validation.length > 0) {
      const { field, message } = describeValidation(request, error.validationContext, error.validation[0] as AjvIssue);
      const refusal = new ValidationError({ message, details: { field } });
      return reply.status(refusal.httpStatus).send(refusal.toJSON());
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.status(error.statusCode).send({ error: 'validation', message: error.message });
    }
    request.log.error(error);
    const failure = new InternalError(error.message);
    return reply.status(failure.httpStatus).send(failure.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    const refusal = new NotFoundError({ message: `no route ${request.method} ${request.url.split('?')[0]}` });
    reply.status(refusal.httpStatus).send(refusal.toJSON());
  });
  return app;
}
