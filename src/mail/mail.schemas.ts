/** What the mailbox and forwarder list routes answer, for the OpenAPI document and the panel's types. */
import { Type } from '@sinclair/typebox';

export const MailboxViewSchema = Type.Object({
  address: Type.String(),
  account: Type.String(),
  quotaMb: Type.Integer(),
  messages: Type.Optional(Type.Integer({ description: 'from the node, when the answer came from it' })),
});

export const ForwarderViewSchema = Type.Object({
  source: Type.String(),
  type: Type.Union([Type.Literal('forward'), Type.Literal('pipe')]),
  destinations: Type.Optional(Type.Array(Type.String())),
  command: Type.Optional(Type.String()),
});

export const AccountMailboxesSchema = Type.Object({ proxiedFrom: Type.String(), account: Type.String(), mailboxes: Type.Array(MailboxViewSchema) });
export const AccountForwardersSchema = Type.Object({ account: Type.String(), forwarders: Type.Array(ForwarderViewSchema) });
