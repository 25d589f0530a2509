/**
 * Prometheus metrics of the parent (prom-client, its own registry): node status, service up/down
 * and restarts as the agents' watchdogs report them, mail queue sizes per node, jobs by state and
 * their step durations, open system-data de-syncs, and API request durations. Most values are
 * read from the other domains when Prometheus scrapes, so nothing is kept twice.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { UnauthenticatedError } from '../core/errors.ts';
import { NODE_STATUSES, isServing, type NodeView } from '../nodes/node.model.ts';
import type { MetricsRepository } from './metrics.repository.ts';

export interface MetricsSources {
  nodes(): Promise<NodeView[]>;
  /** jobs by state */
  jobCounts(): Promise<Record<string, number>>;
  /** steps of jobs that finished since the last call: type, step and seconds */
  newStepDurations(): Promise<{ type: string; step: string; seconds: number }[]>;
  /** open de-syncs by system-data type */
  desyncCounts(): Promise<Record<string, number>>;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class MetricsService {
  readonly registry = new Registry();
  private readonly requestDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly stepDuration: Histogram<'type' | 'step'>;

  constructor(
    private readonly repo: MetricsRepository,
    private readonly sources: MetricsSources,
  ) {
    const registers = [this.registry];
    this.requestDuration = new Histogram({
      name: 'fleetpanel_http_request_duration_seconds',
      help: 'Parent API request durations by method, route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.stepDuration = new Histogram({
      name: 'fleetpanel_job_step_duration_seconds',
      help: 'Durations of finished job steps by job type and step',
      labelNames: ['type', 'step'],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers,
    });
    // One scrape reads the nodes once; the gauges below share that reading.
    let reading: Promise<NodeView[]> | undefined;
    const nodes = (): Promise<NodeView[]> => {
      reading ??= this.sources.nodes().finally(() => setTimeout(() => (reading = undefined), 0));
      return reading;
    };
    const read = this.sources;
    new Gauge({
      name: 'fleetpanel_node_status',
      help: 'The status of each node: 1 for the status it is in, 0 for the others',
      labelNames: ['node', 'status'],
      registers,
      async collect() {
        this.reset();
        for (const node of await nodes()) for (const status of NODE_STATUSES) this.set({ node: node.alias, status }, node.status === status ? 1 : 0);
      },
    });
    new Gauge({
      name: 'fleetpanel_node_up',
      help: 'Whether the node serves its workloads (ready or degraded)',
      labelNames: ['node'],
      registers,
      async collect() {
        this.reset();
        for (const node of await nodes()) this.set({ node: node.alias }, isServing(node.status) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'fleetpanel_service_up',
      help: "Whether a service on a node runs and answers its probes, as the node's watchdog last reported",
      labelNames: ['node', 'service'],
      registers,
      async collect() {
        this.reset();
        for (const node of await nodes()) {
          // Idle (nothing to serve, e.g. php-fpm without pools) is not down.
          for (const service of node.services) this.set({ node: node.alias, service: service.name }, service.state === 'idle' || (service.running && (service.state ?? 'running') === 'running') ? 1 : 0);
        }
      },
    });
    new Counter({
      name: 'fleetpanel_service_restarts_total',
      help: "Restarts the node's watchdog made of a service since its agent started",
      labelNames: ['node', 'service'],
      registers,
      async collect() {
        this.reset();
        for (const node of await nodes()) for (const service of node.services) this.inc({ node: node.alias, service: service.name }, service.restarts ?? 0);
      },
    });
    new Gauge({
      name: 'fleetpanel_mail_queue_messages',
      help: "Messages in a node's Postfix queues (incoming, active, deferred, hold)",
      labelNames: ['node'],
      registers,
      async collect() {
        this.reset();
        for (const node of await nodes()) {
          const postfix = node.services.find((s) => s.name === 'postfix');
          if (postfix?.queued !== undefined) this.set({ node: node.alias }, postfix.queued);
        }
      },
    });
    new Gauge({
      name: 'fleetpanel_jobs',
      help: 'Jobs in the journal by state',
      labelNames: ['state'],
      registers,
      async collect() {
        this.reset();
        for (const [state, count] of Object.entries(await read.jobCounts())) this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'fleetpanel_sysdata_desyncs',
      help: 'Open system-data de-syncs (a node that missed a change) by type',
      labelNames: ['type'],
      registers,
      async collect() {
        this.reset();
        for (const [type, count] of Object.entries(await read.desyncCounts())) this.set({ type }, count);
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requestDuration.observe({ method, route, status: String(status) }, seconds);
  }

  /** The Prometheus text; the caller's bearer token must be the metrics token. */
  async scrape(authorization: string | undefined): Promise<string> {
    await this.authorize(authorization);
    for (const step of await this.sources.newStepDurations()) this.stepDuration.observe({ type: step.type, step: step.step }, step.seconds);
    return this.registry.metrics();
  }

  /** A new token (the old one stops working); shown once. */
  async rotateToken(): Promise<{ token: string }> {
    const token = `fpm_${randomBytes(24).toString('base64url')}`;
    await this.repo.setTokenHash(sha256(token));
    return { token };
  }

  private async authorize(authorization: string | undefined): Promise<void> {
    const stored = await this.repo.tokenHash();
    if (!stored) throw new UnauthenticatedError('no metrics token is set; the admin creates one with `fleetpanel metrics token`');
    const given = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : '';
    const a = Buffer.from(sha256(given));
    const b = Buffer.from(stored);
    if (!given || a.length !== b.length || !timingSafeEqual(a, b)) throw new UnauthenticatedError('the metrics token is missing or wrong (send Authorization: Bearer <metrics token>)');
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
