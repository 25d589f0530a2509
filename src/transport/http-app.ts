/**
 * The one way Fleetpanel builds an HTTP surface (parent API and agent API alike): Fastify with
 * TypeBox schemas, the strict grammars registered as JSON-schema formats, and errors mapped to a
 * status and a message that names the field.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Ajv } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import { FleetError, InternalError, NotFoundError, ValidationError } from '../core/errors.ts';
import { addProtocolVocabulary, compileStrict, describeIssues, protocolAjv } from '../protocol/schema-check.ts';

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

/**
 * Agents take untrusted JSON: their bodies are checked by the protocol's own Ajv, which never
 * coerces ("100" is not a quota), with the same vocabulary as everywhere else.
 */
function strictBodies(app: HttpApp): void {
  const coercing = protocolAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? compileStrict(schema as TSchema) : coercing.compile(schema)));
}

export interface HttpAppOptions {
  /** Check request bodies without type coercion (the agent: its input is never trusted). */
  strictBodies?: boolean;
}

export function createHttpApp(options: FastifyServerOptions & { https?: unknown } & HttpAppOptions = {}): HttpApp {
  const { strictBodies: strict, ...fastifyOptions } = options;
  const app = Fastify({
    logger: false,
    // Long values in a path (a 254-character domain) must reach the schema, which names the field.
    routerOptions: { maxParamLength: 2048 },
    ...fastifyOptions,
    // Answers are serialized by their response schema; the formats in it (fp-item-id, …) are the
    // grammar of what comes in, checked there, so the serializer's own Ajv (which only picks a
    // union's branch) leaves them alone instead of warning about each.
    serializerOpts: { ajv: { validateFormats: false } },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, verbose: true },
      plugins: [((ajv: Ajv) => addProtocolVocabulary(ajv)) as never],
    },
  } as FastifyServerOptions).withTypeProvider<TypeBoxTypeProvider>() as unknown as HttpApp;
  if (strict) strictBodies(app);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof FleetError) {
      return reply.status(error.httpStatus).send(error.toJSON());
    }
    if (error.validation && error.validation.length > 0) {
      const context = error.validationContext;
      const value = context === 'querystring' ? request.query : context === 'params' ? request.params : request.body;
      const issues = error.validation as Parameters<typeof describeIssues>[0];
      const { field, reason } = describeIssues(issues, value, { root: context ?? 'body', style: strict ? 'protocol' : 'api' });
      const refusal = new ValidationError({ message: `${field}: ${reason}`, details: { field } });
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
