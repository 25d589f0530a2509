/** What the mailbox and forwarder routes answer, for the OpenAPI document and the panel's types. */
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

export const AllMailboxesSchema = Type.Object({ mailboxes: Type.Array(MailboxViewSchema) });
export const AllForwardersSchema = Type.Object({ forwarders: Type.Array(Type.Composite([ForwarderViewSchema, Type.Object({ account: Type.String() })])) });
export const DomainAccountSchema = Type.Object({ account: Type.String(), domain: Type.String() });

/** Each change names the node that serves the account's mail (proxiedFrom) and what it changed. */
export const MailboxAddedSchema = Type.Object({ proxiedFrom: Type.String(), mailbox: MailboxViewSchema });
export const MailboxPasswordSetSchema = Type.Object({ proxiedFrom: Type.String(), address: Type.String() });
export const MailboxRemovedSchema = Type.Object({ proxiedFrom: Type.String(), removed: Type.String() });
export const ForwarderAddedSchema = Type.Object({ proxiedFrom: Type.String(), forwarder: ForwarderViewSchema });
export const ForwardersRemovedSchema = Type.Object({ proxiedFrom: Type.String(), removed: Type.Array(ForwarderViewSchema) });
