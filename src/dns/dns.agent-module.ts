/** The DNS workload on a node: zones kept exactly as the parent describes them. */
import { Type } from '@sinclair/typebox';
import type { AgentModule } from '../agent/agent-module.ts';
import { requireDaemon } from '../agent/require-daemon.ts';
import { PowerDnsDriver } from './powerdns.driver.ts';
import { ZoneRecordsRequest } from '../protocol/zone-record.ts';

const Zone = Type.Object({ domain: Type.String({ format: 'fp-domain' }) });
export const dnsAgentModule: AgentModule = {
  name: 'dns',
  role: 'dns',
  daemons: (ctx) => [new PowerDnsDriver(ctx)],
  register(app, ctx) {
    const pdns = (): PowerDnsDriver => requireDaemon<PowerDnsDriver>(ctx, 'pdns', 'dns');
    app.get('/v1/dns/zones', async () => ({ zones: await pdns().listZones() }));
    app.get('/v1/dns/zones/:domain', { schema: { params: Zone } }, async (request) => ({ domain: request.params.domain, records: await pdns().getZone(request.params.domain) }));
    app.put('/v1/dns/zones/:domain', { schema: { params: Zone, body: ZoneRecordsRequest } }, async (request) =>
      pdns().putZone(request.params.domain, request.body.records),
    );
    app.delete('/v1/dns/zones/:domain', { schema: { params: Zone } }, async (request) => ({ removed: await pdns().deleteZone(request.params.domain) }));
  },
};
