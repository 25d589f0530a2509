/**
 * Domain certificates on a node (every node: whichever of its daemons serve TLS pick them up).
 * The parent puts each account's certificate on the nodes that serve one of its names and takes
 * it away when they no longer do.
 */
import type { AgentModule, AgentContext } from '../agent/agent-module.ts';
import { userInfo } from 'node:os';
import { TLS_KEY_READER, tlsFilePaths } from '../agent/tls-files.ts';
import { lookupUser } from '../php/system-users.ts';
import { SerialByKey } from '../core/serial-by-key.ts';
import {
  CertificateDomainParams,
  DomainCertificateRequest,
  RetainCertificatesRequest,
  type CertificateInstallResult,
  type CertificateRemoveResult,
  type RetainCertificatesResult,
} from '../protocol/certificates.ts';
import { NodeCertificates } from './node-certificates.ts';

/** One reload of every daemon that serves TLS from these files; they check their config first. */
async function reloadConsumers(ctx: AgentContext): Promise<void> {
  for (const daemon of ctx.daemons()) await daemon.reloadCertificates?.();
}

export const certificatesAgentModule: AgentModule = {
  name: 'certificates',
  register(app, ctx) {
    // As root, nginx's workers run as a user of their own; otherwise as the agent's user.
    const store = new NodeCertificates(tlsFilePaths(ctx.layout), userInfo().uid === 0 ? lookupUser(TLS_KEY_READER)?.gid : undefined);
    const serial = new SerialByKey();
    const change = async (apply: () => boolean): Promise<boolean> =>
      serial.run('certificates', async () => {
        const changed = apply();
        const includesChanged = store.renderIncludes();
        if (changed || includesChanged) await reloadConsumers(ctx);
        store.sweep();
        return changed;
      });

    app.get('/v1/certificates', async () => ({ certificates: store.views() }));

    app.put('/v1/certificates/:domain', { schema: { params: CertificateDomainParams, body: DomainCertificateRequest } }, async (request): Promise<CertificateInstallResult> => ({
      changed: await change(() => store.install(request.params.domain, request.body)),
    }));

    app.delete('/v1/certificates/:domain', { schema: { params: CertificateDomainParams } }, async (request): Promise<CertificateRemoveResult> => ({
      removed: await change(() => store.remove(request.params.domain)),
    }));

    /** Keeps exactly these domains' certificates (data sync of a joining or returning node). */
    app.post('/v1/certificates/retain', { schema: { body: RetainCertificatesRequest } }, async (request): Promise<RetainCertificatesResult> => {
      const keep = new Set(request.body.domains);
      const removed: string[] = [];
      await change(() => {
        for (const installed of store.installed()) {
          if (!keep.has(installed.domain) && store.remove(installed.domain)) removed.push(installed.domain);
        }
        return removed.length > 0;
      });
      return { removed };
    });
  },
};
