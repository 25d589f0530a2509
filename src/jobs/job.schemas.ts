/** What the job routes answer (JobView, JobDetail), for the OpenAPI document and the panel's types. */
import { Type } from '@sinclair/typebox';
import { JOB_STATES, STEP_STATES } from './job.model.ts';

const NullableString = Type.Union([Type.String(), Type.Null()]);
const Data = Type.Record(Type.String(), Type.Unknown());

export const JobViewSchema = Type.Object({
  id: Type.Integer(),
  type: Type.String(),
  key: Type.String(),
  state: Type.Union(JOB_STATES.map((s) => Type.Literal(s))),
  data: Data,
  currentStep: NullableString,
  attempts: Type.Integer(),
  error: NullableString,
  errorKind: NullableString,
  cancelRequested: Type.Boolean(),
  retryAt: NullableString,
  createdBy: NullableString,
  createdAt: Type.String(),
  updatedAt: Type.String(),
  finishedAt: NullableString,
});

export const JobStepSchema = Type.Object({
  position: Type.Integer(),
  name: Type.String(),
  state: Type.Union(STEP_STATES.map((s) => Type.Literal(s))),
  attempts: Type.Integer(),
  startedAt: NullableString,
  finishedAt: NullableString,
  error: NullableString,
  output: Type.Union([Data, Type.Null()]),
});

export const JobEventSchema = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  step: NullableString,
  kind: Type.Union([Type.Literal('progress'), Type.Literal('state'), Type.Literal('error')]),
  message: Type.String(),
});

export const JobDetailSchema = Type.Composite([JobViewSchema, Type.Object({ steps: Type.Array(JobStepSchema), events: Type.Array(JobEventSchema) })]);
