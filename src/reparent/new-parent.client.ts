/**
 * The old parent's client of the new parent: the transfer import API (TargetParent), plus the
 * node calls a handover needs, all with one of the new parent's admin tokens.
 */
import { FleetError, ForbiddenError } from '../core/errors.ts';
import type { JobView } from '../jobs/index.ts';
import { ACTIVE_JOB_STATES } from '../jobs/job.model.ts';
import type { NodeView } from '../nodes/node.model.ts';
import type { NewParent } from '../nodes/node-handover.ts';
import type { Role } from '../protocol/roles.ts';
import { TargetParent } from '../transfers/target-parent.client.ts';

export class NewParentClient extends TargetParent {
  /** Who the new parent is (admin only there, so this also proves the token). */
  async identity(): Promise<NewParent> {
    try {
      return await this.call<NewParent>('GET', '/api/parent/identity');
    } catch (error) {
      if (error instanceof FleetError && error.kind === 'forbidden') {
        throw new ForbiddenError(`the token given is not an admin's at the new parent ${this.url} (${error.message}); pass one of its admin API tokens`, { target: this.url });
      }
      throw error;
    }
  }

  /** The new parent's view of a node, or null when it has none of that alias. */
  async nodeView(alias: string): Promise<NodeView | null> {
    try {
      return await this.call<NodeView>('GET', `/api/nodes/${encodeURIComponent(alias)}`);
    } catch (error) {
      if (error instanceof FleetError && error.kind === 'not_found') return null;
      throw error;
    }
  }

  /** Whether the new parent has an account of that name. */
  async hasAccount(username: string): Promise<boolean> {
    try {
      await this.call('GET', `/api/accounts/${encodeURIComponent(username)}`);
      return true;
    } catch (error) {
      if (error instanceof FleetError && error.kind === 'not_found') return false;
      throw error;
    }
  }

  /** The new parent links the node with a handover token and holds it until releaseNode. */
  adopt(node: { alias: string; host: string; token: string; roles: Role[]; profile: string }): Promise<NodeView> {
    return this.call('POST', '/api/nodes/link', { ...node, adopt: true });
  }

  /** The new parent links the node with its ordinary link token (after this parent unlinked it). */
  link(node: { alias: string; host: string; token: string; roles: Role[]; profile: string }): Promise<NodeView> {
    return this.call('POST', '/api/nodes/link', node);
  }

  /** The alias of the account's mail node there, or undefined when it has no such account. */
  async mailNodeOf(username: string): Promise<string | undefined> {
    try {
      const account = await this.call<{ mailNode: string | null }>('GET', `/api/accounts/${encodeURIComponent(username)}`);
      return account.mailNode ?? 'local';
    } catch (error) {
      if (error instanceof FleetError && error.kind === 'not_found') return undefined;
      throw error;
    }
  }

  /** `account modify USER --mail-node ALIAS` there: its distribution job. */
  async moveMail(username: string, mailNode: string): Promise<JobView> {
    return (await this.call<{ job: JobView }>('POST', `/api/accounts/${encodeURIComponent(username)}/mail-node`, { mailNode })).job;
  }

  job(id: number): Promise<JobView> {
    return this.call('GET', `/api/jobs/${id}`);
  }

  /** The account's job under way there, if any. */
  async activeJob(username: string): Promise<JobView | undefined> {
    const { jobs } = await this.call<{ jobs: JobView[] }>('GET', `/api/jobs?${new URLSearchParams({ key: `account:${username}` })}`);
    return jobs.find((j) => ACTIVE_JOB_STATES.includes(j.state));
  }

  releaseNode(alias: string): Promise<NodeView> {
    return this.call('POST', `/api/nodes/${encodeURIComponent(alias)}/release`);
  }
}
