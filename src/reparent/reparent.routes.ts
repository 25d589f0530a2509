/** The admin route that moves a child to another parent (answers 202 with the job). */
import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { requireRole } from '../auth/guards.ts';
import { JobViewSchema } from '../jobs/job.schemas.ts';
import type { ReparentService } from './reparent.service.ts';

export function registerReparentRoutes(app: HttpApp, reparent: ReparentService): void {
  app.post(
    '/api/nodes/:alias/reparent',
    {
      schema: {
        tags: ['nodes'],
        summary: "Move a child to another parent as one job: its accounts' records go there, the child is handed over, their mail stays on it (admin)",
        params: Type.Object({ alias: Type.String({ format: 'fp-alias' }) }),
        body: Type.Object(
          {
            to: Type.String({ minLength: 1, maxLength: 500, description: "the new parent's base URL" }),
            token: Type.String({ minLength: 1, maxLength: 500, description: "one of the new parent's admin API tokens" }),
            viaDedistribution: Type.Optional(
              Type.Boolean({ description: "the reference's procedure instead: mail back to this parent, unlink, transfer each account, the new parent links the child and moves the mail out again" }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 202: Type.Object({ job: JobViewSchema }) },
      },
    },
    async (request, reply) => {
      const principal = requireRole(request, 'admin');
      return reply.status(202).send({ job: await reparent.start(principal.username, request.params.alias, request.body) });
    },
  );
}
