/** What the DNS routes answer, for the OpenAPI document and the panel's types. */
import { Type } from '@sinclair/typebox';
import { RECORD_TYPES } from '../protocol/record-grammar.ts';

const RecordFields = {
  name: Type.String(),
  type: Type.String({ description: `${RECORD_TYPES.join(', ')}, or a type the DNS server manages (SOA, NS)` }),
  ttl: Type.Integer(),
  content: Type.String(),
};

const RecordViewSchema = Type.Object({ ...RecordFields, id: Type.Union([Type.Integer(), Type.Null()]), managed: Type.Boolean() });

export const ZoneViewSchema = Type.Object({
  username: Type.String(),
  domain: Type.String(),
  proxiedFrom: Type.String(),
  records: Type.Array(RecordViewSchema),
});

/** A record added, as the zone now lists it, and the node that serves the zone. */
export const RecordAddedSchema = Type.Object({ proxiedFrom: Type.String(), record: RecordViewSchema });

export const RecordRemovedSchema = Type.Object({ proxiedFrom: Type.String(), removed: Type.Object({ ...RecordFields, id: Type.Integer() }) });

export const NodeIpv6Schema = Type.Object({ alias: Type.String(), ipv6: Type.Union([Type.String(), Type.Null()]) });
