/** What the system-data routes answer, for the OpenAPI document and the panel's types. */
import { Type } from '@sinclair/typebox';
import { ITEM_SCHEMAS, SYSTEM_DATA_TYPES, type SystemDataType } from '../protocol/sysdata-items.ts';

export const TypeSyncStatusSchema = Type.Object({
  type: Type.Union(SYSTEM_DATA_TYPES.map((t) => Type.Literal(t))),
  items: Type.Integer(),
  digest: Type.String(),
  policyPercent: Type.Integer(),
  nodes: Type.Array(
    Type.Object({
      node: Type.String(),
      nodeStatus: Type.String(),
      inSync: Type.Boolean(),
      since: Type.Union([Type.String(), Type.Null()]),
      reason: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

/** The share of target nodes (percent) that must be ready for a change, per type. */
export const PolicySchema = Type.Object({ policy: Type.Object(Object.fromEntries(SYSTEM_DATA_TYPES.map((t) => [t, Type.Integer()])) as Record<SystemDataType, ReturnType<typeof Type.Integer>>) });

/** One node's comparison with the parent: in sync, the parent's list pushed, or the push failed. */
export const CheckOutcomesSchema = Type.Object({
  outcomes: Type.Array(
    Type.Union([
      Type.Object({ type: Type.String(), node: Type.String(), result: Type.Literal('in-sync'), digest: Type.String() }),
      Type.Object({ type: Type.String(), node: Type.String(), result: Type.Literal('pushed'), from: Type.String(), to: Type.String() }),
      Type.Object({ type: Type.String(), node: Type.String(), result: Type.Literal('failed'), error: Type.String() }),
    ]),
  ),
});

/** The parent's list of one type and its digest. */
export const listSchema = (type: SystemDataType) => Type.Object({ type: Type.Literal(type), items: Type.Array(ITEM_SCHEMAS[type]), digest: Type.String() });

/** A changed list: where it was applied, and which targets were not ready and are de-synced until they are. */
export const changeSchema = (type: SystemDataType) => Type.Composite([listSchema(type), Type.Object({ applied: Type.Array(Type.String()), desynced: Type.Array(Type.String()) })]);
