/** What the node routes answer (NodeView and its detail), for the OpenAPI document and the panel's types. */
import { Type } from '@sinclair/typebox';
import { ROLES } from '../protocol/roles.ts';
import { NODE_STATUSES, PROFILES } from './node.model.ts';
import { SERVICE_ACTIONS } from './node-services.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

/** A daemon on a node as its agent's watchdog reports it (ServiceView). */
export const ServiceViewSchema = Type.Object({
  name: Type.String(),
  running: Type.Boolean(),
  pid: Type.Optional(Type.Integer()),
  state: Type.Optional(Type.String({ description: 'running, restarting, failed or stopped (by the admin)' })),
  restarts: Type.Optional(Type.Integer({ description: 'restarts the watchdog made since the agent started' })),
  lastRestartAt: Type.Optional(Nullable(Type.String())),
  problem: Type.Optional(Nullable(Type.String())),
  logTail: Type.Optional(Type.Array(Type.String(), { description: 'the last lines of its log, for a failed service' })),
  queued: Type.Optional(Type.Integer({ description: 'messages in its queue (Postfix)' })),
});

export const NodeViewSchema = Type.Object({
  alias: Type.String(),
  host: Type.String(),
  agentPort: Type.Integer(),
  profile: Type.Union(PROFILES.map((p) => Type.Literal(p))),
  roles: Type.Array(Type.Union(ROLES.map((r) => Type.Literal(r)))),
  status: Type.Union(NODE_STATUSES.map((s) => Type.Literal(s))),
  statusLabel: Type.String(),
  statusDetail: Nullable(Type.String()),
  local: Type.Boolean(),
  agentVersion: Nullable(Type.String()),
  services: Type.Array(ServiceViewSchema),
  lastCheckAt: Nullable(Type.String()),
  tlsVerified: Type.Boolean(),
});

export const NodeEventSchema = Type.Object({ at: Type.String(), status: Type.String(), message: Type.String() });

export const NodeDetailSchema = Type.Composite([NodeViewSchema, Type.Object({ events: Type.Array(NodeEventSchema) })]);

export const NodeServicesSchema = Type.Object({ node: Type.String(), services: Type.Array(ServiceViewSchema) });

export const NodeServiceActionSchema = Type.Object({ node: Type.String(), action: Type.Union(SERVICE_ACTIONS.map((a) => Type.Literal(a))), services: Type.Array(ServiceViewSchema) });

/** An unlinked node, and its new link token when the agent was told to print one. */
export const NodeUnlinkedSchema = Type.Object({ alias: Type.String(), token: Nullable(Type.String()) });
