/**
 * Keeps every account's serving certificate on the nodes that answer TLS for its names: the node
 * of its site, the node of its mail, and the parent's own node (which proxies and relays a
 * distributed account's names). A certificate follows the account's mail to a child and back,
 * and leaves a node that no longer serves the account. Pushes are idempotent on the agent, so a
 * pass repeats only what it does not know to be in place.
 */
import { SerialByKey } from '../core/serial-by-key.ts';
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
  /**
   * One pass, deploy or removal at a time: a renewal pass that read the accounts before one was
   * removed would otherwise put its certificate back on the nodes it just left.
   */
  private readonly serial = new SerialByKey();
  /**
   * Accounts whose certificate was taken off their nodes while they are being removed: their
   * placements go only after (termination deprovisions each workload first), and a pass in
   * between must not put it back. Forgotten once the account is gone from the store.
   */
  private readonly leaving = new Set<number>();

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
  reconcile(onlyAccount?: number): Promise<void> {
    return this.serial.run('placement', () => this.reconcileNow(onlyAccount));
  }

  private async reconcileNow(onlyAccount?: number): Promise<void> {
    const targets = await this.targets();
    for (const id of this.leaving) if (!targets.some((t) => t.accountId === id)) this.leaving.delete(id);
    for (const target of targets) {
      if (onlyAccount !== undefined && target.accountId !== onlyAccount) continue;
      if (this.leaving.has(target.accountId)) continue;
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
  deploy(accountId: number): Promise<void> {
    return this.serial.run('placement', () => this.deployNow(accountId));
  }

  private async deployNow(accountId: number): Promise<void> {
    if (this.leaving.has(accountId)) return;
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

  /**
   * An account that leaves this pair (terminated, or an import taken back): its certificate goes
   * from every node that serves its names, before its placements are gone. Idempotent on the agent.
   */
  removeAccount(accountId: number, domain: string): Promise<void> {
    return this.serial.run('placement', () => this.removeAccountNow(accountId, domain));
  }

  private async removeAccountNow(accountId: number, domain: string): Promise<void> {
    const target = (await this.targets()).find((t) => t.accountId === accountId);
    const all = await this.deps.nodes.list();
    const ids = new Set([...(target?.nodes.map((n) => n.id) ?? []), ...(this.placed.get(accountId)?.keys() ?? [])]);
    for (const node of all.filter((n) => ids.has(n.id))) {
      try {
        await this.deps.agents.remove(node, domain);
      } catch (error) {
        // An unreachable node loses it at its data sync (retain).
        this.deps.log(`certificate of ${domain} leaving ${node.alias}: ${(error as Error).message}`);
      }
    }
    this.placed.delete(accountId);
    this.leaving.add(accountId);
  }

  /** The data-sync step: a joining or returning node gets every certificate it serves and loses the others. */
  syncNode(node: NodeRow): Promise<void> {
    return this.serial.run('placement', () => this.syncNodeNow(node));
  }

  private async syncNodeNow(node: NodeRow): Promise<void> {
    const domains: string[] = [];
    for (const target of await this.targets()) {
      if (!target.nodes.some((n) => n.id === node.id) || this.leaving.has(target.accountId)) continue;
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
