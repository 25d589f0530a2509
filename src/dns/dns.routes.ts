import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { principalOf } from '../auth/guards.ts';
import type { DnsService } from './dns.service.ts';
import { NodeIpv6Schema, RecordAddedSchema, RecordRemovedSchema, ZoneViewSchema } from './dns.schemas.ts';
import { MAX_TTL, MIN_TTL, RECORD_TYPES, TXT_TOTAL_LIMIT } from '../protocol/record-grammar.ts';

const UserParams = Type.Object({ username: Type.String({ format: 'fp-username' }) });
const RecordParams = Type.Object({ username: Type.String({ format: 'fp-username' }), id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });
/** A first, coarse gate (ASCII, no spaces or control characters); the per-type grammar runs in the service. */
const RecordBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 253, pattern: '^(@|[a-z0-9_*.-]+)$', description: "'@', a name inside the zone, or one relative to it" }),
    type: Type.Union(RECORD_TYPES.map((t) => Type.Literal(t))),
    ttl: Type.Optional(Type.Integer({ minimum: MIN_TTL, maximum: MAX_TTL })),
    content: Type.String({ minLength: 1, maxLength: TXT_TOTAL_LIMIT, pattern: '^[\\x20-\\x7e]+$' }),
  },
  { additionalProperties: false },
);

export function registerDnsRoutes(app: HttpApp, dns: DnsService): void {
  app.get(
    '/api/accounts/:username/dns/records',
    { schema: { tags: ['dns'], summary: "The account's zone as its DNS node serves it now; user records carry an id", params: UserParams, response: { 200: ZoneViewSchema } } },
    async (request) => dns.listRecords(principalOf(request), request.params.username),
  );

  app.post(
    '/api/accounts/:username/dns/records',
    { schema: { tags: ['dns'], summary: 'Add a record to the account zone (not at the names Fleetpanel manages)', params: UserParams, body: RecordBody, response: { 201: RecordAddedSchema } } },
    async (request, reply) => reply.status(201).send(await dns.addRecord(principalOf(request), request.params.username, request.body)),
  );

  app.delete(
    '/api/accounts/:username/dns/records/:id',
    { schema: { tags: ['dns'], summary: 'Remove a record the user added', params: RecordParams, response: { 200: RecordRemovedSchema } } },
    async (request) => dns.removeRecord(principalOf(request), request.params.username, request.params.id),
  );

  app.put(
    '/api/dns/nodes/:alias/ipv6',
    {
      schema: {
        tags: ['dns'],
        summary: "Set (or with null clear) a node's IPv6 address, used for the AAAA records of IPv6-enabled accounts it serves",
        params: Type.Object({ alias: Type.String({ format: 'fp-alias' }) }),
        body: Type.Object({ address: Type.Union([Type.String({ format: 'fp-ipv6' }), Type.Null()]) }, { additionalProperties: false }),
        response: { 200: NodeIpv6Schema },
      },
    },
    async (request) => dns.setNodeIpv6(principalOf(request), request.params.alias, request.body.address),
  );
}
