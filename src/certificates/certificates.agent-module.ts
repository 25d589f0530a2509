/**
 * Domain certificates on a node (every node: whichever of its daemons serve TLS pick them up).
 * The parent puts each account's certificate on the nodes that serve one of its names and takes
 * it away when they no longer do.
 */
import { Type } from '@sinclair/typebox';
import type { AgentModule, AgentContext } from '../agent/agent-module.ts';
import { tlsFilePaths } from '../agent/tls-files.ts';
import { SerialByKey } from '../core/serial-by-key.ts';
import { NodeCertificates } from './node-certificates.ts';

const Domain = Type.Object({ domain: Type.String({ format: 'fp-domain' }) });
const Certificate = Type.Object(
  {
    names: Type.Array(Type.String({ format: 'fp-domain' }), { minItems: 1, maxItems: 100 }),
    certPem: Type.String({ minLength: 1, maxLength: 65_536 }),
    keyPem: Type.String({ minLength: 1, maxLength: 16_384 }),
  },
  { additionalProperties: false },
);

/** One reload of every daemon that serves TLS from these files; they check their config first. */
async function reloadConsumers(ctx: AgentContext): Promise<void> {
  for (const daemon of ctx.daemons()) await daemon.reloadCertificates?.();
}

export const certificatesAgentModule: AgentModule = {
  name: 'certificates',
  register(app, ctx) {
    const store = new NodeCertificates(tlsFilePaths(ctx.layout));
    const serial = new SerialByKey();
    const change = async (apply: () => boolean): Promise<boolean> =>
      serial.run('certificates', async () => {
        const changed = apply();
        const includesChanged = store.renderIncludes();
        if (changed || includesChanged) await reloadConsumers(ctx);
        return changed;
      });

    app.get('/v1/certificates', async () => ({ certificates: store.views() }));

    app.put('/v1/certificates/:domain', { schema: { params: Domain, body: Certificate } }, async (request) => ({
      changed: await change(() => store.install(request.params.domain, request.body)),
    }));

    app.delete('/v1/certificates/:domain', { schema: { params: Domain } }, async (request) => ({
      removed: await change(() => store.remove(request.params.domain)),
    }));

    /** Keeps exactly these domains' certificates (data sync of a joining or returning node). */
    app.post(
      '/v1/certificates/retain',
      { schema: { body: Type.Object({ domains: Type.Array(Type.String({ format: 'fp-domain' }), { maxItems: 100_000 }) }, { additionalProperties: false }) } },
      async (request) => {
        const keep = new Set(request.body.domains);
        const removed: string[] = [];
        await change(() => {
          for (const installed of store.installed()) {
            if (!keep.has(installed.domain) && store.remove(installed.domain)) removed.push(installed.domain);
          }
          return removed.length > 0;
        });
        return { removed };
      },
    );
  },
};
