/** Starting a re-parent: the admin names the node, the new parent's URL and one of its admin tokens. */
import { ConflictError, ValidationError } from '../core/errors.ts';
import type { JobEngine, JobView } from '../jobs/index.ts';
import { ACTIVE_JOB_STATES } from '../jobs/job.model.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import { REPARENT_JOB } from './reparent.job.ts';
import { REPARENT_VIA_DEDISTRIBUTION_JOB } from './reparent-via-dedistribution.job.ts';
import { NewParentClient } from './new-parent.client.ts';
import type { Reparenting, ReparentCredentials, ReparentData } from './reparenting.ts';

export interface ReparentInput {
  to: string;
  token: string;
  /** the reference's procedure: dedistribute, unlink, transfer, link, redistribute */
  viaDedistribution?: boolean;
}

/** The new parent's API URL without a trailing slash; http(s) only. */
export function checkParentUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError('to', 'must be the new parent\'s URL, e.g. https://parent2.example.net:8080');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ValidationError('to', 'must be an http or https URL');
  if (url.pathname !== '/' || url.search || url.hash || url.username) throw new ValidationError('to', 'must be the parent\'s base URL, with no path, query or credentials');
  return url.origin;
}

export class ReparentService {
  constructor(
    private readonly nodes: Pick<NodesService, 'row'>,
    private readonly jobs: JobEngine,
    private readonly credentials: ReparentCredentials,
    private readonly reparenting: Pick<Reparenting, 'preflight'>,
  ) {}

  private async refuseRunning(key: string, alias: string): Promise<void> {
    const running = (await this.jobs.list({ key })).find((j) => ACTIVE_JOB_STATES.includes(j.state));
    if (running) throw new ConflictError(`node '${alias}' has job ${running.id} (${running.type}) under way`, { job: running.id });
  }

  /**
   * Queues the job once every refusal was asked of both parents (nothing is stored or changed on
   * either before that); the caller checked that an admin asks.
   */
  async start(by: string, alias: string, input: ReparentInput): Promise<JobView> {
    const to = checkParentUrl(input.to);
    const token = input.token.trim();
    if (token.length === 0) throw new ValidationError('token', 'give one of the new parent\'s admin API tokens');
    const node = await this.nodes.row(alias);
    if (node.is_local === 1) throw new ConflictError("the parent's own node cannot move to another parent");
    const key = `node:${node.alias}`;
    await this.refuseRunning(key, node.alias);
    await this.reparenting.preflight(node, new NewParentClient(to, token), input.viaDedistribution ? 'dedistribution' : 'handover');
    // Again just before the token is stored, so a second request never changes a running job's target.
    await this.refuseRunning(key, node.alias);
    await this.credentials.set(node.id, { url: to, token });
    const data: ReparentData = { node: node.alias, nodeId: node.id, targetUrl: to };
    return this.jobs.enqueue({ type: input.viaDedistribution ? REPARENT_VIA_DEDISTRIBUTION_JOB : REPARENT_JOB, key, data, ifBusy: 'refuse', createdBy: by });
  }
}
