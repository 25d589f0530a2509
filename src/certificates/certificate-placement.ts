/**
 * Keeps every account's serving certificate on the nodes that answer TLS for its names: the node
 * of its site, the node of its mail, and the parent's own node (which proxies and relays a
 * distributed account's names). A certificate follows the account's mail to a child and back,
 * and leaves a node that no longer serves the account. Pushes are idempotent on the agent, so a
 * pass repeats only what it does not know to be in place.
 */
import type { NodeConnections } from '../nodes/node-connections.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';
import type { DomainCertificateRequest } from '../protocol/certificates.ts';
import type { CertificatesRepository } from './certificates.repository.ts';

export interface CertificateAgents {
  install(node: NodeRow, domain: string, certificate: DomainCertificateRequest): Promise<void>;
  remove(node: NodeRow, domain: string): Promise<void>;
  retain(node: NodeRow, domains: string[]): Promise<void>;
}

export function certificateAgentsOver(connections: NodeConnections): CertificateAgents {
  return {
    async install(node, domain, certificate) {
      await connections.forRow(node).send(AGENT_ROUTES.installDomainCertificate, { params: { domain }, body: certificate });
    },
    async remove(node, domain) {
      await connections.forRow(node).send(AGENT_ROUTES.removeDomainCertificate, { params: { domain } });
    },
    async retain(node, domains) {
      await connections.forRow(node).send(AGENT_ROUTES.retainDomainCertificates, { body: { domains } });
    },
  };
}

export interface CertificatePlacementDeps {
  repo: Pick<CertificatesRepository, 'placements' | 'byAccount'>;
  nodes: { list(): Promise<NodeRow[]> };
  agents: CertificateAgents;
  log(message: string): void;
}

export class CertificatePlacement {
  /** account id -> node id -> the certificate version (its updated_at) known to be on that node */
  private readonly placed = new Map<number, Map<number, number>>();

  constructor(private readonly deps: CertificatePlacementDeps) {}

  private async targets(): Promise<{ accountId: number; domain: string; updatedAt: number; nodes: NodeRow[] }[]> {
    const nodes = await this.deps.nodes.list();
    const local = nodes.find((n) => n.is_local === 1);
    return (await this.deps.repo.placements()).map((p) => {
      const ids = new Set([...p.nodeIds, ...(local ? [local.id] : [])]);
      return { ...p, nodes: nodes.filter((n) => ids.has(n.id)) };
    });
  }

  /**
   * One pass: installs what changed or moved, removes what left a node. A node that cannot be
   * reached is tried again by the next pass (and brought equal by its data sync when it returns).
   */
  async reconcile(onlyAccount?: number): Promise<void> {
    for (const target of await this.targets()) {
      if (onlyAccount !== undefined && target.accountId !== onlyAccount) continue;
      const placed = this.placed.get(target.accountId) ?? new Map<number, number>();
      this.placed.set(target.accountId, placed);
      const pending = target.nodes.filter((n) => placed.get(n.id) !== target.updatedAt);
      const leaving = [...placed.keys()].filter((id) => !target.nodes.some((n) => n.id === id));
      if (pending.length === 0 && leaving.length === 0) continue;
      const row = await this.deps.repo.byAccount(target.accountId);
      if (!row) continue;
      for (const node of pending) {
        try {
          await this.deps.agents.install(node, target.domain, { names: row.names, certPem: row.certPem, keyPem: row.keyPem });
          placed.set(node.id, target.updatedAt);
        } catch (error) {
          this.deps.log(`certificate of ${target.domain} on ${node.alias}: ${(error as Error).message}`);
        }
      }
      const all = await this.deps.nodes.list();
      for (const nodeId of leaving) {
        const node = all.find((n) => n.id === nodeId);
        try {
          if (node) await this.deps.agents.remove(node, target.domain);
          placed.delete(nodeId);
        } catch (error) {
          this.deps.log(`certificate of ${target.domain} leaving ${node?.alias ?? nodeId}: ${(error as Error).message}`);
        }
      }
    }
  }

  /** Puts one account's issued certificate in service now (after an order); throws when a node refuses. */
  async deploy(accountId: number): Promise<void> {
    const target = (await this.targets()).find((t) => t.accountId === accountId);
    const row = await this.deps.repo.byAccount(accountId);
    if (!target || !row) return;
    const placed = this.placed.get(accountId) ?? new Map<number, number>();
    this.placed.set(accountId, placed);
    for (const node of target.nodes) {
      await this.deps.agents.install(node, target.domain, { names: row.names, certPem: row.certPem, keyPem: row.keyPem });
      placed.set(node.id, target.updatedAt);
    }
  }

  /** The data-sync step: a joining or returning node gets every certificate it serves and loses the others. */
  async syncNode(node: NodeRow): Promise<void> {
    const domains: string[] = [];
    for (const target of await this.targets()) {
      if (!target.nodes.some((n) => n.id === node.id)) continue;
      const row = await this.deps.repo.byAccount(target.accountId);
      if (!row) continue;
      await this.deps.agents.install(node, target.domain, { names: row.names, certPem: row.certPem, keyPem: row.keyPem });
      const placed = this.placed.get(target.accountId) ?? new Map<number, number>();
      placed.set(node.id, target.updatedAt);
      this.placed.set(target.accountId, placed);
      domains.push(target.domain);
    }
    await this.deps.agents.retain(node, domains);
  }
}
