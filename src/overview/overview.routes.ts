import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { requireRole } from '../auth/guards.ts';
import { NodeViewSchema } from '../nodes/node.schemas.ts';
import { JobViewSchema } from '../jobs/job.schemas.ts';
import { SYSTEM_DATA_TYPES } from '../protocol/sysdata-items.ts';
import type { OverviewService } from './overview.service.ts';

const OverviewSchema = Type.Object({
  nodes: Type.Array(NodeViewSchema),
  jobsUnderWay: Type.Array(JobViewSchema),
  desyncs: Type.Array(
    Type.Object({
      type: Type.Union(SYSTEM_DATA_TYPES.map((t) => Type.Literal(t))),
      node: Type.String(),
      since: Type.Union([Type.String(), Type.Null()]),
      reason: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  accounts: Type.Object({ total: Type.Integer(), suspended: Type.Integer() }),
});

export function registerOverviewRoutes(app: HttpApp, overview: OverviewService): void {
  app.get(
    '/api/overview',
    {
      schema: {
        tags: ['meta'],
        summary: "The admin's dashboard in one answer: nodes with status and health, jobs under way (or failed), de-synced system data, account counts",
        response: { 200: OverviewSchema },
      },
    },
    async (request) => {
      requireRole(request, 'admin');
      return overview.overview();
    },
  );
}
