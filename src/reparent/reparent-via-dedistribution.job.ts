/**
 * `node.reparent-via-dedistribution`: the cPanel reference's procedure for moving a child to a
 * new parent, as one job whose steps chain the jobs that already exist for each part:
 *
 *   plan -> dedistribute -> unlink -> transfer -> link -> redistribute
 *
 * dedistribute: each account's mail comes back to this parent (`mail.dedistribute`, no grace
 * period) and the child's copy is removed (`mail.child-cleanup`), so nothing of it stays there;
 * unlink: this parent unlinks the child (it obeys no parent until the new one links it, so it
 * never answers to two); transfer: each account moves to the new parent's own node
 * (`account.transfer`); link: the new parent links the child with the link token the unlink left
 * on it; redistribute: the new parent moves each account's mail to the child (its own
 * `mail.distribute`). Every mailbox is copied three times (what the handover route avoids).
 *
 * Each step first looks at what is already done (a job of the account under way is waited for,
 * an account already moved is skipped), so a failed or interrupted run resumes with `job retry`.
 * A failure holds the job: after the unlink nothing can be undone from here.
 */
import { ConflictError, InternalError, NodeUnavailableError } from '../core/errors.ts';
import { defineJob, isSettled, type JobDefinition, type JobView, type StepContext } from '../jobs/index.ts';
import { waitFor } from '../agent/daemon-process.ts';
import type { Principal } from '../auth/principal.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import type { Role } from '../protocol/roles.ts';
import type { DistributionService } from '../distribution/distribution.service.ts';
import type { TransferService } from '../transfers/transfer.service.ts';
import type { NewParentClient } from './new-parent.client.ts';
import { SERVING, type Reparenting, type ReparentData } from './reparenting.ts';

export const REPARENT_VIA_DEDISTRIBUTION_JOB = 'node.reparent-via-dedistribution';

export interface ViaDedistributionData extends ReparentData {
  /** the child as this parent knew it, kept by plan: its row is gone after the unlink */
  host?: string;
  roles?: Role[];
  profile?: string;
  dedistributed?: string[];
  transferred?: string[];
  redistributed?: string[];
}

/** The other domains' operations this job chains, through their services. */
export interface ViaDedistributionDeps {
  distribution: Pick<DistributionService, 'changeMailNode' | 'accountsOnNode' | 'cleanupChildCopy'>;
  transfers: Pick<TransferService, 'start'>;
  jobs: { waitFor(id: number, timeoutMs: number): Promise<JobView>; active(key: string): Promise<JobView | undefined> };
  /** `node unlink ALIAS --token expire-24h`: the link token the node issued */
  unlink(alias: string): Promise<string>;
  /** where the link token waits between the unlink and the new parent's link (never in the job's data) */
  linkTokens: { get(nodeId: number): Promise<string | undefined>; set(nodeId: number, token: string): Promise<void>; remove(nodeId: number): Promise<void> };
}

/** The jobs are run by the parent itself on the admin's behalf. */
const ADMIN: Principal = { username: 'admin', role: 'admin' };
/** How long a step waits for the new parent to bring the node up before it is retried. */
const BRING_UP_MS = 10 * 60_000;
/** Rounds of (wait for the account's job, start the next) before a step gives up on an account. */
const MAX_ROUNDS = 10;

/** Waits until a job of this parent ends, whatever it takes (the step's signal stops it). */
async function settled(deps: ViaDedistributionDeps, id: number, signal: AbortSignal): Promise<JobView> {
  for (;;) {
    if (signal.aborted) throw signal.reason;
    try {
      return await deps.jobs.waitFor(id, 30_000);
    } catch (error) {
      if (!(error instanceof InternalError)) throw error;
    }
  }
}

/** Waits until a job of the new parent ends. */
async function settledThere(target: NewParentClient, id: number, signal: AbortSignal): Promise<JobView> {
  for (;;) {
    if (signal.aborted) throw signal.reason;
    const job = await target.job(id);
    if (isSettled(job.state)) return job;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function mustHaveSucceeded(job: JobView, username: string, where: string): void {
  if (job.state === 'succeeded') return;
  throw new ConflictError(`job ${job.id} (${job.type}) of account '${username}' ${where} ended ${job.state}${job.error ? `: ${job.error}` : ''}; see to it there, then retry this job`, { account: username, job: job.id });
}

/**
 * Runs the account's next job until `next` says nothing is left to do: a job already under way
 * is waited for first, then `next` starts one (or returns null when the account is done).
 */
async function untilDone(ctx: StepContext, username: string, active: () => Promise<JobView | undefined>, wait: (job: JobView) => Promise<JobView>, where: string, next: () => Promise<JobView | null>): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const running = await active();
    if (running) {
      mustHaveSucceeded(await wait(running), username, where);
      continue;
    }
    let started: JobView | null;
    try {
      started = await next();
    } catch (error) {
      // Another job of the account (a grace-period cleanup, an admin's) was queued in between: wait for it.
      if (error instanceof ConflictError && (await active())) continue;
      throw error;
    }
    if (!started) return;
    await ctx.progress(`${username}: job ${started.id} (${started.type}) ${where}`);
  }
  throw new ConflictError(`account '${username}' still has work left ${where} after ${MAX_ROUNDS} jobs; see its jobs, then retry this job`, { account: username });
}

export function reparentViaDedistributionJob(r: Reparenting, deps: ViaDedistributionDeps): JobDefinition<ViaDedistributionData> {
  const activeHere = (username: string) => deps.jobs.active(`account:${username}`);
  return defineJob<ViaDedistributionData>({
    type: REPARENT_VIA_DEDISTRIBUTION_JOB,
    onFailure: 'hold',
    maxAttempts: 5,
    steps: [
      {
        name: 'plan',
        async run(ctx, job) {
          const node = await r.node(job.data);
          const { newParent, accounts } = await r.preflight(node, await r.target(job.data), 'dedistribution');
          await ctx.progress(`${accounts.length} account(s) move with ${node.alias} to ${newParent.name} by the reference's procedure (each mailbox copied back here, to ${newParent.name}, then out to ${node.alias}): ${accounts.join(', ') || 'none'}`);
          return { newParent, accounts, host: node.host, roles: node.roles, profile: node.profile };
        },
      },
      {
        name: 'dedistribute',
        async run(ctx, job) {
          const alias = job.data.node;
          const done = [...(job.data.dedistributed ?? [])];
          const all = job.data.accounts ?? [];
          for (const username of all) {
            if (done.includes(username)) continue;
            await untilDone(ctx, username, () => activeHere(username), (j) => settled(deps, j.id, ctx.signal), 'on this parent', async () => {
              const entry = (await deps.distribution.accountsOnNode(ADMIN, alias)).accounts.find((a) => a.username === username);
              if (!entry) return null;
              // Fully: no grace period, and the copy the child keeps is removed at once.
              if (entry.state === 'distributed') return deps.distribution.changeMailNode(ADMIN, username, { mailNode: 'local', graceSeconds: 0 });
              if (entry.state === 'grace') return deps.distribution.cleanupChildCopy(ADMIN, alias, username);
              throw new ConflictError(`the copy of '${username}' on '${alias}' is ${entry.state} with no job under way; see \`fleetpanel node accounts ${alias}\``, { account: username });
            });
            done.push(username);
            await ctx.checkpoint({ dedistributed: done });
            await ctx.progress(`${username}: its mail is on this parent, nothing of it left on ${alias}: ${done.length}/${all.length}`);
          }
        },
      },
      {
        name: 'unlink',
        async run(ctx, job) {
          const node: NodeRow | undefined = await r.deps.nodeById(job.data.nodeId);
          if (node) {
            // The node's own usage check refuses if an account came back to it meanwhile.
            const token = await deps.unlink(node.alias);
            await deps.linkTokens.set(job.data.nodeId, token);
          } else if (!(await deps.linkTokens.get(job.data.nodeId)) && !(await (await r.target(job.data)).nodeView(job.data.node))) {
            // Only a crash between the node's answer and storing its token gets here.
            throw new ConflictError(`'${job.data.node}' is unlinked but its link token was lost; print a new one on the node, link it at ${job.data.newParent!.name} with \`node link\`, then retry this job`);
          }
          await ctx.progress(`${job.data.node} is unlinked from this parent: it obeys no parent until ${job.data.newParent!.name} links it`);
        },
      },
      {
        name: 'transfer',
        async run(ctx, job) {
          const target = await r.target(job.data);
          const credentials = (await r.deps.credentials.get(job.data.nodeId))!;
          const done = [...(job.data.transferred ?? [])];
          const all = job.data.accounts ?? [];
          for (const username of all) {
            if (done.includes(username)) continue;
            await untilDone(ctx, username, () => activeHere(username), (j) => settled(deps, j.id, ctx.signal), 'to the new parent', async () => {
              const account = await r.deps.accountByName(username);
              if (account) return deps.transfers.start(ADMIN, username, { to: credentials.url, token: credentials.token });
              if ((await target.hasAccount(username)) && !(await target.underWay(username))) return null;
              throw new ConflictError(`account '${username}' is neither on this parent nor finished at ${job.data.newParent!.name}`, { account: username });
            });
            done.push(username);
            await ctx.checkpoint({ transferred: done });
            await ctx.progress(`${username}: transferred to ${job.data.newParent!.name} (its own node): ${done.length}/${all.length}`);
          }
        },
      },
      {
        name: 'link',
        async run(ctx, job) {
          const target = await r.target(job.data);
          const alias = job.data.node;
          if (!(await target.nodeView(alias))) {
            const token = await deps.linkTokens.get(job.data.nodeId);
            if (!token) throw new ConflictError(`the link token of '${alias}' was lost; print a new one on the node, link it at ${job.data.newParent!.name} with \`node link\`, then retry this job`);
            await target.link({ alias, host: job.data.host!, token, roles: job.data.roles!, profile: job.data.profile! });
          }
          await deps.linkTokens.remove(job.data.nodeId);
          await ctx.progress(`${job.data.newParent!.name} linked ${alias}; waiting until it is ready there`);
          let status = '';
          try {
            await waitFor(async () => SERVING.includes((status = (await target.nodeView(alias))?.status ?? 'gone')), BRING_UP_MS, `${alias} ready at the new parent`);
          } catch {
            throw new NodeUnavailableError({ message: `${alias} is not ready at ${job.data.newParent!.name} yet (${status})`, details: { node: alias } });
          }
          await ctx.progress(`${alias} is ${status} at ${job.data.newParent!.name}`);
        },
      },
      {
        name: 'redistribute',
        async run(ctx, job) {
          const target = await r.target(job.data);
          const alias = job.data.node;
          const done = [...(job.data.redistributed ?? [])];
          const all = job.data.accounts ?? [];
          for (const username of all) {
            if (done.includes(username)) continue;
            await untilDone(ctx, username, () => target.activeJob(username), (j) => settledThere(target, j.id, ctx.signal), `at ${job.data.newParent!.name}`, async () => {
              const mailNode = await target.mailNodeOf(username);
              if (mailNode === undefined) throw new ConflictError(`${job.data.newParent!.name} has no account '${username}'`, { account: username });
              return mailNode === alias ? null : target.moveMail(username, alias);
            });
            done.push(username);
            await ctx.checkpoint({ redistributed: done });
            await ctx.progress(`${username}: its mail is on ${alias} again, now under ${job.data.newParent!.name}: ${done.length}/${all.length}`);
          }
          await r.deps.credentials.remove(job.data.nodeId);
        },
      },
    ],
  });
}
