/** Admin routes of mail distribution; each reads the principal, calls DistributionService and returns. */
import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { principalOf } from '../auth/guards.ts';
import type { DistributionService } from './distribution.service.ts';
import { ForcedDedistributionSchema, JobAnswerSchema, NodeAccountsSchema } from './distribution.schemas.ts';

const Username = Type.String({ format: 'fp-username' });
const Alias = Type.String({ format: 'fp-alias' });

export function registerDistributionRoutes(app: HttpApp, distribution: DistributionService): void {
  app.post(
    '/api/accounts/:username/mail-node',
    {
      schema: {
        tags: ['distribution'],
        summary: "Move an account's mail to a child node, or back with 'local' (admin); answers 202 with the job",
        params: Type.Object({ username: Username }),
        body: Type.Object(
          {
            mailNode: Type.String({ format: 'fp-alias', description: "a mail child's alias, or 'local'" }),
            dropPipeForwarders: Type.Optional(Type.Boolean()),
            graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 * 86_400, description: "moving back: how long the child keeps routing to the parent (default 7 days)" })),
          },
          { additionalProperties: false },
        ),
        response: { 202: JobAnswerSchema },
      },
    },
    async (request, reply) => reply.status(202).send({ job: await distribution.changeMailNode(principalOf(request), request.params.username, request.body) }),
  );

  app.get(
    '/api/nodes/:alias/distributed-accounts',
    { schema: { tags: ['distribution'], summary: 'Accounts whose mail the node serves or of which it keeps a copy (admin)', params: Type.Object({ alias: Alias }), response: { 200: NodeAccountsSchema } } },
    async (request) => distribution.accountsOnNode(principalOf(request), request.params.alias),
  );

  app.post(
    '/api/nodes/:alias/distributed-accounts/:username/cleanup',
    { schema: { tags: ['distribution'], summary: 'Remove the copy a node keeps after a move back, before its grace period ends (admin)', params: Type.Object({ alias: Alias, username: Username }), response: { 202: JobAnswerSchema } } },
    async (request, reply) => reply.status(202).send({ job: await distribution.cleanupChildCopy(principalOf(request), request.params.alias, request.params.username) }),
  );

  app.post(
    '/api/nodes/:alias/force-dedistribute',
    {
      schema: {
        tags: ['distribution'],
        summary: "Serve accounts from the parent at once, revoke the child's credentials for them and report the mail lost (admin)",
        params: Type.Object({ alias: Alias }),
        body: Type.Object({ usernames: Type.Array(Username, { minItems: 1, maxItems: 1000 }), acceptDataLoss: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: ForcedDedistributionSchema },
      },
    },
    async (request) => distribution.forceDedistribute(principalOf(request), request.params.alias, request.body.usernames, request.body.acceptDataLoss),
  );
}
