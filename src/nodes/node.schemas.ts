/** What the node routes answer (NodeView and its detail), for the OpenAPI document and the panel's types. */
import { Type } from '@sinclair/typebox';
import { NODE_STATUSES, PROFILES, ROLES } from './node.model.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

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
  services: Type.Array(Type.Object({ name: Type.String(), running: Type.Boolean() })),
  lastCheckAt: Nullable(Type.String()),
  tlsVerified: Type.Boolean(),
});

export const NodeEventSchema = Type.Object({ at: Type.String(), status: Type.String(), message: Type.String() });

export const NodeDetailSchema = Type.Composite([NodeViewSchema, Type.Object({ events: Type.Array(NodeEventSchema) })]);
