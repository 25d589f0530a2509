/**
 * One mTLS client per node, built from the store and the parent's CA. Services ask this for a
 * node's client; nothing else in the parent opens a connection to an agent.
 */
import { AgentClient, type ClientIdentity } from '../transport/agent-client.ts';
import { NotFoundError } from '../core/errors.ts';
import type { NodesRepository, NodeRow } from './nodes.repository.ts';

export class NodeConnections {
  private readonly clients = new Map<string, AgentClient>();

  constructor(
    private readonly nodes: NodesRepository,
    readonly identity: ClientIdentity,
  ) {}

  forRow(row: NodeRow): AgentClient {
    const key = `${row.alias}@${row.host}:${row.agent_port}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new AgentClient({ alias: row.alias, host: row.host, port: row.agent_port }, this.identity);
      this.clients.set(key, client);
    }
    return client;
  }

  async forAlias(alias: string): Promise<AgentClient> {
    const row = await this.nodes.byAlias(alias);
    if (!row) throw new NotFoundError('node', alias);
    return this.forRow(row);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
    this.clients.clear();
  }
}
