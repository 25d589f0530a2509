/** The system-data API (admin only). Each route checks the caller and hands over to the service. */
import { Type, type TSchema } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { requireRole } from '../auth/guards.ts';
import type { SysdataService } from './sysdata.service.ts';
import { ITEM_SCHEMAS, SYSTEM_DATA_TYPES, type SystemDataType } from '../protocol/sysdata-items.ts';
import { changeSchema, CheckOutcomesSchema, listSchema, PolicySchema, TypeSyncStatusSchema } from './sysdata.schemas.ts';

const ItemId = Type.String({ minLength: 1, maxLength: 48, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' });
const AccessEntryFields = {
  id: Type.Optional(ItemId),
  kind: Type.Union([Type.Literal('sender'), Type.Literal('network')]),
  value: Type.String({ minLength: 1, maxLength: 254, description: "an e-mail address, '@domain', or an IPv4 network" }),
};

/** What an admin sends to add one item; the service validates the full grammar again. */
const NEW_ITEM_SCHEMAS: Record<SystemDataType, TSchema> = {
  firewall: Type.Object(
    {
      id: Type.Optional(ItemId),
      action: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
      protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
      port: Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ pattern: '^[0-9]{1,5}-[0-9]{1,5}$' })], { description: "a port, or a range 'first-last'" }),
      source: Type.String({ format: 'fp-network', description: "an IPv4 network; '0.0.0.0/0' for every source" }),
      comment: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    },
    { additionalProperties: false },
  ),
  scheduler: Type.Object(
    {
      id: Type.Optional(ItemId),
      schedule: Type.String({ minLength: 1, maxLength: 100, description: 'five cron fields or @hourly, @daily, …' }),
      command: Type.String({ minLength: 1, maxLength: 1000 }),
      user: Type.String({ minLength: 1, maxLength: 32 }),
    },
    { additionalProperties: false },
  ),
  whitelist: Type.Object(AccessEntryFields, { additionalProperties: false }),
  blacklist: Type.Object(AccessEntryFields, { additionalProperties: false }),
};

const TypeParam = Type.Union(SYSTEM_DATA_TYPES.map((t) => Type.Literal(t)));
const TAGS = ['sysdata'];

export function registerSysdataRoutes(app: HttpApp, sysdata: SysdataService): void {
  app.get('/api/sysdata/status', { schema: { tags: TAGS, summary: 'Per type and node: in sync, or de-synced since when and why', response: { 200: Type.Object({ types: Type.Array(TypeSyncStatusSchema) }) } } }, async (request) => {
    requireRole(request, 'admin');
    return { types: await sysdata.status() };
  });

  app.post('/api/sysdata/check', { schema: { tags: TAGS, summary: "Compare every ready node's digests with the parent's now and repair drift", response: { 200: CheckOutcomesSchema } } }, async (request) => {
    requireRole(request, 'admin');
    return { outcomes: await sysdata.checkAll() };
  });

  app.get('/api/sysdata/policy', { schema: { tags: TAGS, summary: 'Readiness policy: the share of target nodes (percent) that must be ready for a change', response: { 200: PolicySchema } } }, async (request) => {
    requireRole(request, 'admin');
    return { policy: await sysdata.policy() };
  });

  app.put(
    '/api/sysdata/policy/:type',
    {
      schema: {
        tags: TAGS,
        summary: 'Set the readiness policy of one type',
        params: Type.Object({ type: TypeParam }),
        body: Type.Object({ percent: Type.Integer({ minimum: 0, maximum: 99 }) }, { additionalProperties: false }),
        response: { 200: PolicySchema },
      },
    },
    async (request) => {
      requireRole(request, 'admin');
      return { policy: await sysdata.setPolicy(request.params.type, request.body.percent) };
    },
  );

  for (const type of SYSTEM_DATA_TYPES) {
    app.get(`/api/sysdata/${type}`, { schema: { tags: TAGS, summary: `The parent's ${type} list and its digest`, response: { 200: listSchema(type) } } }, async (request) => {
      requireRole(request, 'admin');
      return sysdata.list(type);
    });

    app.post(
      `/api/sysdata/${type}`,
      { schema: { tags: TAGS, summary: `Add one ${type} item on every ready target node (a distributed query)`, body: NEW_ITEM_SCHEMAS[type], response: { 201: Type.Composite([changeSchema(type), Type.Object({ item: ITEM_SCHEMAS[type] })]) } } },
      async (request, reply) => {
        requireRole(request, 'admin');
        return reply.status(201).send(await sysdata.add(type, request.body as Record<string, unknown>));
      },
    );

    app.put(
      `/api/sysdata/${type}`,
      {
        schema: {
          tags: TAGS,
          summary: `Replace the whole ${type} list on every ready target node (a distributed query)`,
          body: Type.Object({ items: Type.Array(Type.Unknown(), { maxItems: 10_000 }) }, { additionalProperties: false }),
          response: { 200: changeSchema(type) },
        },
      },
      async (request) => {
        requireRole(request, 'admin');
        return sysdata.replace(type, request.body.items);
      },
    );

    app.delete(
      `/api/sysdata/${type}/:id`,
      { schema: { tags: TAGS, summary: `Remove one ${type} item from every ready target node`, params: Type.Object({ id: ItemId }), response: { 200: changeSchema(type) } } },
      async (request) => {
        requireRole(request, 'admin');
        return sysdata.remove(type, request.params.id);
      },
    );
  }
}
