/**
 * The source side of an account transfer: `account transfer USER --to URL` checks the target
 * parent at once (so a refusal reaches the admin before anything changes), keeps the target's
 * token beside the account, and queues the `account.transfer` job. While the account's mail is
 * routed to the target, its mail nodes here relay the domain there (a state contributor).
 */
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../core/errors.ts';
import type { Principal } from '../auth/principal.ts';
import type { JobEngine } from '../jobs/job-engine.ts';
import type { JobView } from '../jobs/index.ts';
import { ACTIVE_JOB_STATES } from '../jobs/job.model.ts';
import type { AccountRecord } from '../accounts/account.model.ts';
import type { MailStatePusher } from '../mail/mail-state-pusher.ts';
import type { MailState } from '../protocol/mail-state.ts';
import type { WebService } from '../web/web.service.ts';
import type { Store } from '../store/database.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import type { TransfersRepository } from './transfers.repository.ts';
import { TargetParent } from './target-parent.client.ts';
import { TRANSFER_JOB, type TransferData } from './transfer-account.job.ts';

export interface StartTransferInput {
  /** the target parent's API URL, e.g. http://127.0.20.1:8080 */
  to: string;
  /** one of the target parent's admin API tokens */
  token: string;
  /** a mail child of the target, or 'local' */
  mailNode?: string;
}

function targetUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new ValidationError('to', `'${input}' is not a URL (e.g. http://127.0.20.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError('to', 'must be an http:// or https:// URL');
  if (url.username || url.password || url.search || url.hash) throw new ValidationError('to', 'must be the parent URL only, without credentials, query or fragment');
  return url.origin;
}

export class TransferService {
  constructor(
    private readonly db: Store,
    private readonly repo: TransfersRepository,
    private readonly jobs: JobEngine,
    private readonly parentName: string,
    private readonly accountByName: (username: string) => Promise<AccountRecord | undefined>,
    mailStates: Pick<MailStatePusher, 'addStateContributor'>,
    web: Pick<WebService, 'addSiteForwardProvider'>,
  ) {
    mailStates.addStateContributor(async (node, state) => this.relayExports(node, state));
    // Once its files are at the target, an outgoing account's site is forwarded there (the job's web-proxy step).
    web.addSiteForwardProvider('transfers', (node) => this.repo.webProxiesOnNode(node.id));
  }

  /** An account being transferred away, once routed: every delivery here goes to the target's mail node (logins are still served here). */
  private async relayExports(node: NodeRow, state: MailState): Promise<void> {
    // A domain transferred away (or whose import was aborted) keeps relaying for a while from every
    // mail node here, the one that held it included: what is still queued or held there goes on
    // rather than bouncing (see TransfersRepository.setForward).
    for (const forward of await this.repo.forwards(Date.now())) {
      if (!state.domains.some((d) => d.domain === forward.domain)) state.domains.push({ domain: forward.domain, account: forward.account, suspended: false, relayTo: forward.targetMailAddress });
    }
    state.domains.sort((a, b) => a.domain.localeCompare(b.domain));
    const routed = await this.repo.routedExports();
    for (const entry of state.domains) {
      const route = routed.find((r) => r.domain === entry.domain);
      if (!route) continue;
      entry.relayTo = route.targetMailAddress;
      delete entry.holdDelivery;
    }
  }

  async start(principal: Principal, username: string, input: StartTransferInput): Promise<JobView> {
    if (principal.role !== 'admin') throw new ForbiddenError(`transferring an account to another parent is for the admin only; you are ${principal.role} '${principal.username}'`);
    const account = await this.accountByName(username);
    if (!account) throw new NotFoundError('account', username);
    // Asked before the target is: a job under way (a mail move, a certificate order) would change
    // the account under the transfer's feet, whatever the target says.
    const busy = (await this.jobs.list({ key: `account:${account.username}` })).find((j) => ACTIVE_JOB_STATES.includes(j.state));
    if (busy) throw new ConflictError(`account '${username}' has job ${busy.id} (${busy.type}, ${busy.state}) under way; transfer it once that job has ended (\`fleetpanel job watch ${busy.id}\`)`, { job: busy.id });
    const url = targetUrl(input.to);
    if (input.token.trim() === '') throw new ValidationError('token', "must be one of the target parent's admin API tokens");
    const target = new TargetParent(url, input.token.trim());
    // Every refusal of the target (name or domain taken, not an admin token, a child linked elsewhere, unreachable) comes now, before anything changes.
    await target.check(account.username, account.domain, input.mailNode, (await this.repo.databasesOf(account.id)) !== undefined);
    const data: TransferData = { account: account.username, accountId: account.id, targetUrl: url, sourceName: this.parentName, ...(input.mailNode ? { mailNode: input.mailNode } : {}) };
    return this.db.transaction().execute(async (trx) => {
      const job = await this.jobs.enqueue({ type: TRANSFER_JOB, key: `account:${account.username}`, data, ifBusy: 'refuse', createdBy: principal.username }, { transaction: trx });
      await this.repo.setExport({ accountId: account.id, targetUrl: url, targetToken: input.token.trim(), targetMailAddress: null }, trx);
      return job;
    });
  }
}
