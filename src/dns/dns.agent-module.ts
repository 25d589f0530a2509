/** The DNS workload on a node: zones kept exactly as the parent describes them. */
import { Type } from '@sinclair/typebox';
import type { AgentModule } from '../agent/agent-module.ts';
import { requireDaemon } from '../agent/require-daemon.ts';
import { PowerDnsDriver } from './powerdns.driver.ts';
import { RECORD_TYPES } from './zone-record.ts';

const Zone = Type.Object({ domain: Type.String({ format: 'fp-domain' }) });
const Record = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 253 }),
  type: Type.Union(RECORD_TYPES.map((t) => Type.Literal(t))),
  ttl: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
  content: Type.String({ minLength: 1, maxLength: 4096 }),
});

export const dnsAgentModule: AgentModule = {
  name: 'dns',
  role: 'dns',
  daemons: (ctx) => [new PowerDnsDriver(ctx)],
  register(app, ctx) {
    const pdns = (): PowerDnsDriver => requireDaemon<PowerDnsDriver>(ctx, 'pdns', 'dns');
    app.get('/v1/dns/zones', async () => ({ zones: await pdns().listZones() }));
    app.get('/v1/dns/zones/:domain', { schema: { params: Zone } }, async (request) => ({ domain: request.params.domain, records: await pdns().getZone(request.params.domain) }));
    app.put('/v1/dns/zones/:domain', { schema: { params: Zone, body: Type.Object({ records: Type.Array(Record, { maxItems: 10_000 }) }) } }, async (request) =>
      pdns().putZone(request.params.domain, request.body.records),
    );
    app.delete('/v1/dns/zones/:domain', { schema: { params: Zone } }, async (request) => ({ removed: await pdns().deleteZone(request.params.domain) }));
  },
};
