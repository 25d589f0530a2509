/**
 * How metrics plug into the parent: GET /metrics (Prometheus text, behind the metrics token, not
 * a login: a scraper holds no user account), the admin's route that makes a token, and a hook that
 * times every API request.
 */
import { Type } from '@sinclair/typebox';
import type { Store } from '../store/database.ts';
import type { HttpApp } from '../transport/http-app.ts';
import { requireRole } from '../auth/guards.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import { JOB_STATES, isSettled, type JobEngine } from '../jobs/index.ts';
import type { SysdataService } from '../sysdata/sysdata.service.ts';
import { MetricsRepository } from './metrics.repository.ts';
import { MetricsService } from './metrics.service.ts';

/** Step durations are taken from the most recent jobs only; older ones were counted by an earlier scrape. */
const RECENT_JOBS = 200;

export function buildMetrics(deps: { db: Store; nodes: NodesService; jobs: JobEngine; sysdata: SysdataService }): MetricsService {
  const { nodes, jobs, sysdata } = deps;
  const counted = new Set<number>();
  return new MetricsService(new MetricsRepository(deps.db), {
    nodes: () => nodes.list(),
    async jobCounts() {
      const counts: Record<string, number> = {};
      for (const state of JOB_STATES) counts[state] = (await jobs.list({ state, limit: 1_000_000 })).length;
      return counts;
    },
    async newStepDurations() {
      const durations: { type: string; step: string; seconds: number }[] = [];
      for (const job of await jobs.list({ limit: RECENT_JOBS })) {
        if (counted.has(job.id) || !isSettled(job.state)) continue;
        counted.add(job.id);
        for (const step of (await jobs.get(job.id)).steps) {
          if (step.startedAt && step.finishedAt) durations.push({ type: job.type, step: step.name, seconds: (Date.parse(step.finishedAt) - Date.parse(step.startedAt)) / 1000 });
        }
      }
      return durations;
    },
    async desyncCounts() {
      const counts: Record<string, number> = {};
      for (const type of await sysdata.status()) counts[type.type] = type.nodes.filter((n) => !n.inSync).length;
      return counts;
    },
  });
}

export function registerMetricsRoutes(app: HttpApp, metrics: MetricsService): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    // Unmatched paths would make a label per probe of a scanner; they are counted under one name.
    metrics.observeRequest(request.method, route ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['metrics'],
        summary: 'Prometheus metrics; send Authorization: Bearer <metrics token>',
        security: [{ bearer: [] }],
        produces: ['text/plain'],
        response: { 200: { description: 'The Prometheus text exposition format (version 0.0.4)', content: { 'text/plain': { schema: Type.String() } } } },
      },
    },
    async (request, reply) => {
      const text = await metrics.scrape(request.headers.authorization);
      return reply.type(metrics.contentType).send(text);
    },
  );

  app.post('/api/metrics/token', { schema: { tags: ['metrics'], summary: 'Make a new metrics token for the Prometheus scraper (the previous one stops working); shown once', response: { 200: Type.Object({ token: Type.String() }) } } }, async (request) => {
    requireRole(request, 'admin');
    return metrics.rotateToken();
  });
}
