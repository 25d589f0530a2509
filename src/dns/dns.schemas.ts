/** What the zone route answers, for the OpenAPI document and the panel's types. */
import { Type } from '@sinclair/typebox';
import { RECORD_TYPES } from '../protocol/record-grammar.ts';

export const ZoneViewSchema = Type.Object({
  username: Type.String(),
  domain: Type.String(),
  proxiedFrom: Type.String(),
  records: Type.Array(
    Type.Object({
      name: Type.String(),
      type: Type.String({ description: `${RECORD_TYPES.join(', ')}, or a type the DNS server manages (SOA, NS)` }),
      ttl: Type.Integer(),
      content: Type.String(),
      id: Type.Union([Type.Integer(), Type.Null()]),
      managed: Type.Boolean(),
    }),
  ),
});
