/**
 * How nodes plug into the parent: the mTLS connections to the agents (signed by the parent's CA)
 * and the nodes service that links them and checks their health; then the node routes.
 */
import type { Store } from '../store/database.ts';
import type { CertificateAuthority } from '../transport/ca.ts';
import { NodesRepository } from './nodes.repository.ts';
import { NodeConnections } from './node-connections.ts';
import { NodesService } from './nodes.service.ts';
import { NodeServiceControl } from './node-services.ts';
import { NodeHandover } from './node-handover.ts';

export { registerNodeRoutes } from './nodes.routes.ts';

export interface NodesDeps {
  db: Store;
  ca: CertificateAuthority;
  /** the parent's name, shown to its nodes */
  parentName: string;
  healthIntervalMs: number;
}

export function buildNodes(deps: NodesDeps): { nodes: NodesService; connections: NodeConnections; nodeServices: NodeServiceControl; handover: NodeHandover } {
  const repo = new NodesRepository(deps.db);
  const { ca } = deps;
  const connections = new NodeConnections(repo, { caCertPem: ca.caCertPem, clientCertPem: ca.clientCertPem, clientKeyPem: ca.clientKeyPem });
  const nodes = new NodesService(repo, connections, ca, deps.parentName, deps.healthIntervalMs);
  return { nodes, connections, nodeServices: new NodeServiceControl(nodes, connections), handover: new NodeHandover(nodes, connections) };
}
