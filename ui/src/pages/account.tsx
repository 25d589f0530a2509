/**
 * One account, for its admin or reseller: what it is and where its workloads live, suspend,
 * unsuspend and terminate, and (admin) moving its mail to a child and back, with the job's steps
 * shown live. Its mail, forwarders and DNS follow, as the account's user sees them.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, call } from '../api/client.ts';
import type { AccountView } from '../api/types.ts';
import { Confirm } from '../components/confirm.tsx';
import { Form, SelectField, useAction } from '../components/form.tsx';
import { JobSteps, useLiveJob } from '../components/live-job.tsx';
import { Badge, Card, Loading, Page, Refusal, useLoad, when } from '../components/ui.tsx';
import { href, navigate } from '../router.ts';
import { MailboxesCard, ForwardersCard } from './user/mail.tsx';
import { DnsCard } from './user/dns.tsx';
import { SiteCard } from './user/site.tsx';

export function AccountPage({ username, admin = false }: { username: string; admin?: boolean }): JSX.Element {
  const state = useLoad(() => call(api.GET('/api/accounts/{username}', { params: { path: { username } } })), [username]);
  return (
    <Loading state={state}>
      {(account) => (
        <Page title={`Account ${account.username}`} actions={<a href={href('accounts')}>All accounts</a>}>
          <div class="grid-2">
            <AccountSummary account={account} />
            <AccountActions account={account} onChange={state.reload} />
          </div>
          {admin && <MoveMail account={account} onDone={state.reload} />}
          <SiteCard account={account} />
          <MailboxesCard account={account} />
          <ForwardersCard account={account} />
          <DnsCard account={account} />
        </Page>
      )}
    </Loading>
  );
}

export function AccountSummary({ account }: { account: AccountView }): JSX.Element {
  return (
    <Card title="Account" id="account-summary">
      <dl class="facts">
        <dt>Domain</dt>
        <dd>{account.domain}</dd>
        <dt>State</dt>
        <dd>
          <Badge value={account.suspended ? 'suspended' : 'active'} />
        </dd>
        <dt>Plan</dt>
        <dd>{account.plan}</dd>
        <dt>Owner</dt>
        <dd>{account.owner}</dd>
        <dt>Where it lives</dt>
        <dd>
          <ul class="placements">
            {account.placements.map((p) => (
              <li key={p.workload}>
                {p.workload}: <strong data-workload={p.workload}>{p.node}</strong>
              </li>
            ))}
          </ul>
        </dd>
        <dt>Created</dt>
        <dd>{when(account.createdAt)}</dd>
      </dl>
    </Card>
  );
}

function AccountActions({ account, onChange }: { account: AccountView; onChange: () => void }): JSX.Element {
  const action = useAction();
  const [terminating, setTerminating] = useState(false);
  const path = { params: { path: { username: account.username } } };
  return (
    <Card title="Actions" id="account-actions">
      <div class="form-actions start">
        {account.suspended ? (
          <button type="button" disabled={action.busy} onClick={() => void action.run(async () => (await call(api.POST('/api/accounts/{username}/unsuspend', path)), onChange()))}>
            Unsuspend
          </button>
        ) : (
          <button type="button" disabled={action.busy} onClick={() => void action.run(async () => (await call(api.POST('/api/accounts/{username}/suspend', path)), onChange()))}>
            Suspend
          </button>
        )}
        <button type="button" class="danger" onClick={() => (action.clear(), setTerminating(true))}>
          Terminate…
        </button>
      </div>
      <p class="hint">A suspended account keeps receiving mail; its logins and its site are refused.</p>
      {!terminating && <Refusal refusal={action.refusal} />}
      <Confirm
        open={terminating}
        title={`Terminate ${account.username}?`}
        confirm="Terminate for good"
        danger
        busy={action.busy}
        onCancel={() => setTerminating(false)}
        onConfirm={() =>
          void action.run(async () => {
            await call(api.DELETE('/api/accounts/{username}', path));
            setTerminating(false);
            navigate('accounts');
          })
        }
      >
        <p>
          Every node that holds a part of <strong>{account.domain}</strong> removes it: mailboxes and their mail, the site and the DNS zone. This cannot be undone.
        </p>
        <Refusal refusal={action.refusal} />
      </Confirm>
    </Card>
  );
}

function MoveMail({ account, onDone }: { account: AccountView; onDone: () => void }): JSX.Element {
  const nodes = useLoad(async () => (await call(api.GET('/api/nodes'))).nodes.filter((n) => !n.local && n.roles.includes('mail')), []);
  const [target, setTarget] = useState('');
  const [jobId, setJobId] = useState<number | null>(null);
  const job = useLiveJob(jobId);
  const action = useAction();
  const settled = job !== null && ['succeeded', 'rolled_back', 'failed', 'held', 'abandoned'].includes(job.state);
  // The account's mail node changes when the job settles; show the new one.
  useEffect(() => {
    if (settled) onDone();
  }, [settled, job?.id]);
  const options = account.mailNode
    ? [{ value: 'local', label: 'back to the parent' }]
    : [{ value: '', label: 'choose a mail child' }, ...(nodes.data ?? []).map((n) => ({ value: n.alias, label: n.alias }))];
  const choice = account.mailNode ? 'local' : target;
  return (
    <Card title="Where the mail lives" id="move-mail">
      <p>
        The mail of {account.domain} is on <strong data-mail-node>{account.mailNode ?? 'the parent'}</strong>. Moving it is a job: routing, cut-over, copy and
        verification, shown step by step as they run.
      </p>
      <Form action={action} label="Move the mail" fields={['mailNode']} submit={account.mailNode ? 'Move mail back' : 'Move mail'} onSubmit={() => void action.run(async () => setJobId((await call(api.POST('/api/accounts/{username}/mail-node', { params: { path: { username: account.username } }, body: { mailNode: choice } }))).job.id))}>
        <SelectField name="mailNode" label="Move to" value={choice} onValue={setTarget} options={options} />
      </Form>
      {job && <JobSteps job={job} />}
    </Card>
  );
}
