import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { principalOf, requireRole } from '../auth/guards.ts';
import type { AccountsService } from './accounts.service.ts';
import type { PlansService } from './plans.service.ts';
import type { ResellersService } from './resellers.service.ts';
import { AccountViewSchema, PlanViewSchema, ResellerViewSchema, ResellerWithdrawnSchema, TerminationReportSchema } from './account.schemas.ts';

const Username = Type.String({ format: 'fp-username' });
const UserParams = Type.Object({ username: Username });
const PlanName = Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z][a-z0-9_-]{0,31}$' });
const Password = Type.String({ minLength: 1, maxLength: 1024 });
const Quota = Type.Integer({ minimum: 0, maximum: 10_000_000 });

export function registerAccountRoutes(app: HttpApp, { accounts, plans, resellers }: { accounts: AccountsService; plans: PlansService; resellers: ResellersService }): void {
  app.get('/api/accounts', { schema: { tags: ['accounts'], summary: 'The accounts you may see: all (admin), your own and your customers (reseller), yours (user)', response: { 200: Type.Object({ accounts: Type.Array(AccountViewSchema) }) } } }, async (request) => ({
    accounts: await accounts.list(principalOf(request)),
  }));

  app.post(
    '/api/accounts',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Create an account; each workload (mail, web, dns) is placed on a node and provisioned, or the account is not created',
        body: Type.Object(
          {
            username: Username,
            domain: Type.String({ format: 'fp-account-domain' }),
            password: Password,
            owner: Type.Optional(Username),
            plan: Type.Optional(PlanName),
            ipv6: Type.Optional(Type.Boolean()),
            mailNode: Type.Optional(Type.String({ format: 'fp-alias', description: "a mail child's alias, or 'local'" })),
          },
          { additionalProperties: false },
        ),
        response: { 201: AccountViewSchema },
      },
    },
    async (request, reply) => reply.status(201).send(await accounts.create(principalOf(request), request.body)),
  );

  app.get('/api/accounts/:username', { schema: { tags: ['accounts'], params: UserParams, response: { 200: AccountViewSchema } } }, async (request) => accounts.show(principalOf(request), request.params.username));

  app.put(
    '/api/accounts/:username',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Change an account: plan, IPv6 and owner (its owner or the admin), password (also the user)',
        params: UserParams,
        body: Type.Object(
          { plan: Type.Optional(PlanName), ipv6: Type.Optional(Type.Boolean()), password: Type.Optional(Password), owner: Type.Optional(Username) },
          { additionalProperties: false },
        ),
        response: { 200: AccountViewSchema },
      },
    },
    async (request) => accounts.modify(principalOf(request), request.params.username, request.body),
  );

  app.post('/api/accounts/:username/suspend', { schema: { tags: ['accounts'], params: UserParams, response: { 200: AccountViewSchema } } }, async (request) =>
    accounts.setSuspended(principalOf(request), request.params.username, true),
  );
  app.post('/api/accounts/:username/unsuspend', { schema: { tags: ['accounts'], params: UserParams, response: { 200: AccountViewSchema } } }, async (request) =>
    accounts.setSuspended(principalOf(request), request.params.username, false),
  );

  app.delete(
    '/api/accounts/:username',
    { schema: { tags: ['accounts'], summary: "Terminate: remove the account's data from every node that holds a part of it, then the account", params: UserParams, response: { 200: TerminationReportSchema } } },
    async (request) => accounts.terminate(principalOf(request), request.params.username),
  );

  // ---- plans

  app.get('/api/plans', { schema: { tags: ['plans'], response: { 200: Type.Object({ plans: Type.Array(PlanViewSchema) }) } } }, async (request) => {
    requireRole(request, 'admin', 'reseller');
    return { plans: await plans.list() };
  });

  app.get('/api/plans/:name', { schema: { tags: ['plans'], params: Type.Object({ name: PlanName }), response: { 200: PlanViewSchema } } }, async (request) => {
    requireRole(request, 'admin', 'reseller');
    return plans.show(request.params.name);
  });

  app.post(
    '/api/plans',
    {
      schema: {
        tags: ['plans'],
        summary: 'Add a plan (quotas for disk in MB, mailboxes and domains)',
        body: Type.Object({ name: PlanName, diskMb: Quota, mailboxes: Quota, domains: Quota }, { additionalProperties: false }),
        response: { 201: PlanViewSchema },
      },
    },
    async (request, reply) => {
      requireRole(request, 'admin');
      return reply.status(201).send(await plans.add(request.body));
    },
  );

  // ---- resellers

  app.get('/api/resellers', { schema: { tags: ['resellers'], response: { 200: Type.Object({ resellers: Type.Array(ResellerViewSchema) }) } } }, async (request) => {
    requireRole(request, 'admin');
    return { resellers: await resellers.list() };
  });

  app.get('/api/resellers/:username', { schema: { tags: ['resellers'], params: UserParams, response: { 200: ResellerViewSchema } } }, async (request) => resellers.show(principalOf(request), request.params.username));

  app.put(
    '/api/resellers/:username',
    {
      schema: {
        tags: ['resellers'],
        summary: 'Grant reseller privileges on an account, or change its limit (no maxAccounts = no limit)',
        params: UserParams,
        body: Type.Object({ maxAccounts: Type.Optional(Type.Union([Quota, Type.Null()])) }, { additionalProperties: false }),
        response: { 200: ResellerViewSchema },
      },
    },
    async (request) => {
      requireRole(request, 'admin');
      return resellers.grant(request.params.username, request.body.maxAccounts);
    },
  );

  app.delete('/api/resellers/:username', { schema: { tags: ['resellers'], summary: 'Withdraw reseller privileges (it must own no accounts)', params: UserParams, response: { 200: ResellerWithdrawnSchema } } }, async (request) => {
    requireRole(request, 'admin');
    return resellers.withdraw(request.params.username);
  });
}
