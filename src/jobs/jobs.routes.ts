/** The job journal over HTTP: list, detail, events to watch, and the admin's cancel and retry. */
import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { principalOf, requireRole } from '../auth/guards.ts';
import type { Principal } from '../auth/principal.ts';
import { NotFoundError } from '../core/errors.ts';
import { JOB_STATES, isSettled } from './job.model.ts';
import type { JobEngine } from './job-engine.ts';
import { JobDetailSchema, JobEventSchema, JobViewSchema } from './job.schemas.ts';
import { openEventStream } from '../transport/sse.ts';

const JobId = Type.Object({ id: Type.Integer({ minimum: 1 }) });

/** A job the principal may not see answers as absent, so its existence does not leak. */
async function requireVisible(engine: JobEngine, principal: Principal, id: number): Promise<void> {
  const keys = await engine.keysVisibleTo(principal);
  if (keys === 'all') return;
  const job = await engine.get(id).catch(() => null);
  if (!job || !keys.includes(job.key)) throw new NotFoundError('job', String(id));
}

export function registerJobRoutes(app: HttpApp, engine: JobEngine): void {
  app.get(
    '/api/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Jobs, newest first',
        querystring: Type.Object({
          key: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          state: Type.Optional(Type.Union(JOB_STATES.map((state) => Type.Literal(state)))),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
        response: { 200: Type.Object({ jobs: Type.Array(JobViewSchema) }) },
      },
    },
    async (request) => {
      const keys = await engine.keysVisibleTo(principalOf(request));
      return { jobs: await engine.list(request.query, keys) };
    },
  );

  app.get('/api/jobs/:id', { schema: { tags: ['jobs'], summary: 'One job with its steps and events', params: JobId, response: { 200: JobDetailSchema } } }, async (request) => {
    await requireVisible(engine, principalOf(request), request.params.id);
    return engine.get(request.params.id);
  });

  app.get(
    '/api/jobs/:id/events',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Events after a given event id, for watching a job; waitMs holds the answer until something new happens',
        params: JobId,
        querystring: Type.Object({
          after: Type.Optional(Type.Integer({ minimum: 0 })),
          waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 30_000 })),
        }),
        response: { 200: Type.Object({ job: JobViewSchema, events: Type.Array(JobEventSchema) }) },
      },
    },
    async (request) => {
      await requireVisible(engine, principalOf(request), request.params.id);
      return engine.events(request.params.id, request.query.after ?? 0, request.query.waitMs ?? 0);
    },
  );

  app.post('/api/jobs/:id/cancel', { schema: { tags: ['jobs'], summary: 'Cancel a job: it stops and its done steps are undone', params: JobId, response: { 200: JobViewSchema } } }, async (request) => {
    const admin = requireRole(request, 'admin');
    return engine.cancel(request.params.id, admin.username);
  });

  app.post('/api/jobs/:id/retry', { schema: { tags: ['jobs'], summary: 'Retry a held job (its failed step) or a failed one (its undo)', params: JobId, response: { 200: JobViewSchema } } }, async (request) => {
    const admin = requireRole(request, 'admin');
    return engine.retry(request.params.id, admin.username);
  });

  app.get(
    '/api/jobs/:id/stream',
    {
      schema: {
        tags: ['jobs'],
        summary: "Server-sent events: a 'job' event with the job, its steps and events at once and after every change, then 'end' when it settles",
        params: JobId,
        produces: ['text/event-stream'],
        response: { 200: { description: 'text/event-stream: `event: <name>` and `data: <JSON>` lines per event, and comment lines to keep the connection open', content: { 'text/event-stream': { schema: Type.String() } } } },
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      await requireVisible(engine, principalOf(request), id);
      const stream = openEventStream(request, reply);
      const first = await engine.get(id);
      stream.send('job', first);
      let after = first.events.reduce((max, event) => Math.max(max, event.id), 0);
      let lastChange = first.updatedAt;
      let settled = isSettled(first.state);
      while (!stream.closed && !settled) {
        // The engine wakes this wait at once when the job changes; 10 s bounds a dead client's cost.
        const { job, events } = await engine.events(id, after, 10_000);
        if (events.length > 0) after = events[events.length - 1]!.id;
        if (events.length > 0 || job.updatedAt !== lastChange) {
          lastChange = job.updatedAt;
          stream.send('job', await engine.get(id));
        }
        settled = isSettled(job.state) && events.length === 0;
      }
      stream.send('end', { id });
      stream.end();
    },
  );
}
