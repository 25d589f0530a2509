/** All SQL about nodes. */
import type { Selectable } from 'kysely';
import type { Store } from '../store/database.ts';
import type { NodesTables } from '../store/migrations/001-nodes.ts';
import { InternalError } from '../core/errors.ts';
import { ROLES, type Role } from '../protocol/roles.ts';
import { STATUS_LABELS, type NodeStatus, type NodeView, type ServiceView, type Profile } from './node.model.ts';

type StoredNodeRow = Selectable<NodesTables['nodes']>;

/** A node as the store holds it, its role list read and checked once here for every service. */
export type NodeRow = Omit<StoredNodeRow, 'roles'> & { roles: Role[] };

function fromStore(row: StoredNodeRow): NodeRow {
  return { ...row, roles: storedRoles(row.alias, row.roles) };
}

/** A stored role list that is not a list of known roles is a damaged store, not bad input. */
function storedRoles(alias: string, text: string): Role[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const known = ROLES as readonly unknown[];
  if (!Array.isArray(value) || !value.every((role) => known.includes(role))) {
    throw new InternalError(`node '${alias}': its stored roles ${JSON.stringify(text)} are not a list of ${ROLES.join(', ')}`);
  }
  return value as Role[];
}

export function toNodeView(row: NodeRow): NodeView {
  return {
    alias: row.alias,
    host: row.host,
    agentPort: row.agent_port,
    profile: row.profile as Profile,
    roles: row.roles,
    status: row.status as NodeStatus,
    statusLabel: STATUS_LABELS[row.status as NodeStatus] ?? row.status,
    statusDetail: row.status_detail,
    local: row.is_local === 1,
    agentVersion: row.agent_version,
    services: JSON.parse(row.services) as ServiceView[],
    lastCheckAt: row.last_check_at === null ? null : new Date(row.last_check_at).toISOString(),
    tlsVerified: row.tls_verified === 1,
  };
}

export class NodesRepository {
  constructor(private readonly db: Store) {}

  async list(): Promise<NodeRow[]> {
    return (await this.db.selectFrom('nodes').selectAll().orderBy('id').execute()).map(fromStore);
  }

  async byAlias(alias: string): Promise<NodeRow | undefined> {
    const row = await this.db.selectFrom('nodes').selectAll().where('alias', '=', alias).executeTakeFirst();
    return row && fromStore(row);
  }

  async byId(id: number): Promise<NodeRow | undefined> {
    const row = await this.db.selectFrom('nodes').selectAll().where('id', '=', id).executeTakeFirst();
    return row && fromStore(row);
  }

  async byEndpoint(host: string, port: number): Promise<NodeRow | undefined> {
    const row = await this.db.selectFrom('nodes').selectAll().where('host', '=', host).where('agent_port', '=', port).executeTakeFirst();
    return row && fromStore(row);
  }

  async insert(values: {
    alias: string;
    host: string;
    agentPort: number;
    profile: Profile;
    roles: Role[];
    status: NodeStatus;
    isLocal: boolean;
    fingerprint: string | null;
    tlsVerified: boolean;
    agentVersion: string | null;
  }): Promise<NodeRow> {
    await this.db
      .insertInto('nodes')
      .values({
        alias: values.alias,
        host: values.host,
        agent_port: values.agentPort,
        profile: values.profile,
        roles: JSON.stringify(values.roles),
        status: values.status,
        is_local: values.isLocal ? 1 : 0,
        server_cert_fingerprint: values.fingerprint,
        tls_verified: values.tlsVerified ? 1 : 0,
        agent_version: values.agentVersion,
        services: '[]',
        created_at: Date.now(),
      })
      .execute();
    return (await this.byAlias(values.alias))!;
  }

  async setStatus(id: number, status: NodeStatus, detail: string | null): Promise<void> {
    await this.db.updateTable('nodes').set({ status, status_detail: detail }).where('id', '=', id).execute();
    await this.db.insertInto('node_events').values({ node_id: id, at: Date.now(), status, message: detail ?? STATUS_LABELS[status] }).execute();
  }

  /** A line in the node's health history that is not a status change (a restart the watchdog made). */
  async addEvent(id: number, status: string, message: string): Promise<void> {
    await this.db.insertInto('node_events').values({ node_id: id, at: Date.now(), status, message }).execute();
  }

  async markLinked(id: number, fingerprint: string, tlsVerified: boolean, agentVersion: string | null): Promise<void> {
    await this.db
      .updateTable('nodes')
      .set({ server_cert_fingerprint: fingerprint, tls_verified: tlsVerified ? 1 : 0, agent_version: agentVersion })
      .where('id', '=', id)
      .execute();
  }

  async setProfile(id: number, profile: Profile, roles: Role[]): Promise<void> {
    await this.db.updateTable('nodes').set({ profile, roles: JSON.stringify(roles) }).where('id', '=', id).execute();
  }

  async recordCheck(id: number, ok: boolean, health?: { version: string; services: ServiceView[] }): Promise<void> {
    const now = Date.now();
    await this.db
      .updateTable('nodes')
      .set(ok && health ? { last_check_at: now, last_seen_at: now, agent_version: health.version, services: JSON.stringify(health.services) } : { last_check_at: now })
      .where('id', '=', id)
      .execute();
  }

  async remove(id: number): Promise<void> {
    await this.db.deleteFrom('node_events').where('node_id', '=', id).execute();
    await this.db.deleteFrom('nodes').where('id', '=', id).execute();
  }

  events(id: number, limit = 50): Promise<{ at: number; status: string; message: string }[]> {
    return this.db.selectFrom('node_events').select(['at', 'status', 'message']).where('node_id', '=', id).orderBy('id', 'desc').limit(limit).execute();
  }

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    const existing = await this.getSetting(key);
    if (existing === undefined) await this.db.insertInto('settings').values({ key, value }).execute();
    else await this.db.updateTable('settings').set({ value }).where('key', '=', key).execute();
  }
}
