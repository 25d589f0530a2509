/** What the system-data status route answers, for the OpenAPI document and the panel's types. */
import { Type } from '@sinclair/typebox';
import { SYSTEM_DATA_TYPES } from '../protocol/sysdata-items.ts';

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
