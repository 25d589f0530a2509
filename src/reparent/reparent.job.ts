/**
 * `node.reparent`: a child moves to another parent with the mail where it is. The accounts whose
 * workloads the child serves get their records (settings, mailboxes with their password hashes,
 * forwarders, zone) imported at the new parent through the transfer import API, the child is
 * handed over (it swaps the old parent's CA for the new one in one step, so it never obeys both),
 * the new parent brings it up with those accounts and routes (proxies, relays) their mail to it,
 * and only then this parent forgets them. No mailbox is read, copied or removed: the mail stays
 * in the child's Maildirs throughout.
 *
 * An account's MariaDB databases are the one thing copied: they live on this pair's database node,
 * not on the child, so the new parent's import creates them empty (with their users, by password
 * hash) and the databases step streams them there and compares every table, before the import is
 * finished; forget compares them again before this parent drops its copy.
 *
 * Steps: plan -> handover -> import -> databases -> release -> forget. Every step is idempotent (it first
 * asks the new parent what is already done), so a failed or interrupted run resumes where it
 * stopped. Once the child is handed over nothing can be undone from here, so a failure holds the
 * job for an admin's retry.
 */
import { NodeUnavailableError } from '../core/errors.ts';
import { defineJob, type JobDefinition } from '../jobs/index.ts';
import { waitFor } from '../agent/daemon-process.ts';
import { testPoint } from '../distribution/test-points.ts';
import { SERVING, type Reparenting, type ReparentData } from './reparenting.ts';

export const REPARENT_JOB = 'node.reparent';

/** How long release waits for the new parent to bring the node up before the step is retried. */
const BRING_UP_MS = 10 * 60_000;

export function reparentJob(r: Reparenting): JobDefinition<ReparentData> {
  return defineJob<ReparentData>({
    type: REPARENT_JOB,
    onFailure: 'hold',
    maxAttempts: 5,
    steps: [
      {
        name: 'plan',
        async run(ctx, job) {
          const node = await r.node(job.data);
          const { newParent, accounts } = await r.preflight(node, await r.target(job.data), 'handover');
          await ctx.progress(`${accounts.length} account(s) move with ${node.alias} to ${newParent.name}: ${accounts.join(', ') || 'none'}`);
          return { newParent, accounts };
        },
      },
      {
        name: 'handover',
        async run(ctx, job) {
          const node = await r.node(job.data);
          const target = await r.target(job.data);
          const newParent = job.data.newParent!;
          const there = await target.nodeView(node.alias);
          if (!there) {
            const { token } = await r.deps.handover.issue(node.alias, newParent);
            await target.adopt({ alias: node.alias, host: node.host, token, roles: node.roles, profile: node.profile });
          }
          await r.deps.handover.markHandedOver(node, newParent.name);
          await ctx.progress(`${node.alias} is linked to ${newParent.name} now and refuses this parent; it keeps serving its mail meanwhile`);
        },
      },
      {
        name: 'import',
        async run(ctx, job) {
          const target = await r.target(job.data);
          const imported = [...(job.data.imported ?? [])];
          const all = job.data.accounts ?? [];
          for (const username of all) {
            if (imported.includes(username)) continue;
            if (ctx.signal.aborted) throw ctx.signal.reason;
            // Plan found no account of that name there, so one there now is this job's import
            // (a run again after a crash between the import and the checkpoint).
            const account = await r.account(username);
            if (!(await target.hasAccount(username))) {
              const databases = await r.deps.databases.bundleOf(account);
              await target.import({ ...(await r.deps.bundleOf(account)), mailNode: job.data.node, ...(databases ? { databases } : {}) });
              await testPoint('reparent:imported');
            }
            // Nothing is held for it: its mail never moves, so the import ends at once, unless
            // databases follow (the databases step ends it once they are there).
            if (!(await r.deps.databases.sourceOf(account)) && (await target.underWay(username))) await target.finish(username);
            imported.push(username);
            await ctx.checkpoint({ imported });
            await ctx.progress(`imported ${username} (records, mailboxes, forwarders, zone) at ${job.data.newParent!.name}: ${imported.length}/${all.length}; no mail copied`);
          }
        },
      },
      {
        name: 'databases',
        async run(ctx, job) {
          const target = await r.target(job.data);
          const moved = [...(job.data.databasesMoved ?? [])];
          let restored = [...(job.data.restoredDatabases ?? [])];
          for (const username of job.data.accounts ?? []) {
            if (moved.includes(username)) continue;
            if (ctx.signal.aborted) throw ctx.signal.reason;
            const account = await r.account(username);
            const done = await r.moveDatabases(account, target, restored, async (now, name) => {
              restored = now;
              await ctx.checkpoint({ restoredDatabases: now });
              await ctx.progress(`copied database ${name} of ${username} to ${job.data.newParent!.name}`);
            }, ctx.signal);
            if (done) await ctx.progress(`${username}: ${done.locked} database user(s) locked on ${done.node} (nothing writes here any more); the same rows and checksums at ${job.data.newParent!.name}: ${done.checked.join(', ')}`);
            if (await target.underWay(username)) await target.finish(username);
            moved.push(username);
            await ctx.checkpoint({ databasesMoved: moved });
          }
          await ctx.progress(restored.length > 0 ? `${restored.length} database(s) at ${job.data.newParent!.name} (${restored.join(', ')}); every import is finished there` : `no account of ${job.data.node} has databases; every import is finished at ${job.data.newParent!.name}`);
        },
        async undo(ctx, job) {
          // A cancelled re-parent: what stays here serves again (the copy there is left as it is).
          for (const username of job.data.accounts ?? []) {
            const account = await r.deps.accountByName(username);
            const source = account && (await r.deps.databases.sourceOf(account));
            if (!account || !source) continue;
            await r.deps.databases.lockUsers(source.node, username, false);
            await ctx.progress(`the database users of ${username} on ${source.node.alias} can log in again`);
          }
        },
      },
      {
        name: 'release',
        async run(ctx, job) {
          const target = await r.target(job.data);
          await target.releaseNode(job.data.node);
          await ctx.progress(`${job.data.newParent!.name} brings ${job.data.node} up with its accounts and routes their mail to it`);
          let status = '';
          try {
            await waitFor(async () => SERVING.includes((status = (await target.nodeView(job.data.node))?.status ?? 'gone')), BRING_UP_MS, `${job.data.node} ready at the new parent`);
          } catch {
            throw new NodeUnavailableError({ message: `${job.data.node} is not ready at ${job.data.newParent!.name} yet (${status})`, details: { node: job.data.node } });
          }
          await ctx.progress(`${job.data.node} is ${status} at ${job.data.newParent!.name}`);
        },
      },
      {
        name: 'forget',
        async run(ctx, job) {
          const moved = await r.node(job.data);
          const forgotten = [...(job.data.forgotten ?? [])];
          // Asked only while an account is left: the token goes with the last step's end.
          const left = (job.data.accounts ?? []).filter((u) => !forgotten.includes(u));
          const target = left.length > 0 ? await r.target(job.data) : undefined;
          const leftSites = [...(job.data.leftSites ?? [])];
          for (const username of job.data.accounts ?? []) {
            if (forgotten.includes(username)) continue;
            const account = await r.deps.accountByName(username);
            if (account) {
              // This parent's copy (its databases above all) goes only once the move is verified.
              await r.verifyMoved(account, target!);
              leftSites.push(...(await r.forgetAccount(account, moved)));
            }
            forgotten.push(username);
            await ctx.checkpoint({ forgotten, leftSites });
          }
          await r.afterForget(job.data.nodeId);
          await ctx.progress(`this parent no longer serves ${forgotten.join(', ') || 'any account'} (it relays their mail to ${moved.host} for 7 days); ${job.data.node} is gone from its nodes`);
          if (leftSites.length > 0) await ctx.progress(`site files left in place on this parent's own node (not moved): ${leftSites.join(', ')}`);
        },
      },
    ],
  });
}
