/** Starting a re-parent: the admin names the node, the new parent's URL and one of its admin tokens. */
import { ConflictError, ValidationError } from '../core/errors.ts';
import type { JobEngine, JobView } from '../jobs/index.ts';
import { ACTIVE_JOB_STATES } from '../jobs/job.model.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import { REPARENT_JOB } from './reparent.job.ts';
import type { ReparentCredentials, ReparentData } from './reparenting.ts';

export interface ReparentInput {
  to: string;
  token: string;
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
  ) {}

  /** Queues the job; the caller checked that an admin asks. */
  async start(by: string, alias: string, input: ReparentInput): Promise<JobView> {
    const to = checkParentUrl(input.to);
    if (input.token.trim().length === 0) throw new ValidationError('token', 'give one of the new parent\'s admin API tokens');
    const node = await this.nodes.row(alias);
    if (node.is_local === 1) throw new ConflictError("the parent's own node cannot move to another parent");
    const key = `node:${node.alias}`;
    const running = (await this.jobs.list({ key })).find((j) => ACTIVE_JOB_STATES.includes(j.state));
    // Checked before the token is stored, so a second request never changes a running job's target.
    if (running) throw new ConflictError(`node '${node.alias}' has job ${running.id} (${running.type}) under way`, { job: running.id });
    await this.credentials.set(node.id, { url: to, token: input.token.trim() });
    const data: ReparentData = { node: node.alias, nodeId: node.id, targetUrl: to };
    return this.jobs.enqueue({ type: REPARENT_JOB, key, data, ifBusy: 'refuse', createdBy: by });
  }
}
