/** What the distribution routes answer, for the OpenAPI document and the panel's types. */
import { Type } from '@sinclair/typebox';
import { JobViewSchema } from '../jobs/job.schemas.ts';

const NullableString = Type.Union([Type.String(), Type.Null()]);

export const NodeAccountsSchema = Type.Object({
  node: Type.String(),
  accounts: Type.Array(
    Type.Object({
      username: Type.String(),
      domain: Type.String(),
      owner: Type.String(),
      state: Type.Union([Type.Literal('distributed'), Type.Literal('staging'), Type.Literal('draining'), Type.Literal('grace')]),
      graceUntil: NullableString,
    }),
  ),
  revocations: Type.Array(Type.Object({ username: Type.String(), recordedAt: Type.String(), applied: Type.Boolean() })),
});

export const ForcedDedistributionSchema = Type.Object({
  node: Type.String(),
  abandonedJobs: Type.Array(Type.Integer()),
  accounts: Type.Array(
    Type.Object({
      username: Type.String(),
      revoked: Type.String(),
      mailboxes: Type.Array(
        Type.Object({
          address: Type.String(),
          lastKnownAt: NullableString,
          lastKnownMessages: Type.Union([Type.Integer(), Type.Null()]),
          messagesOnParent: Type.Integer(),
          lostGuids: Type.Array(Type.String()),
          note: Type.String(),
        }),
      ),
    }),
  ),
});

export const JobAnswerSchema = Type.Object({ job: JobViewSchema });
