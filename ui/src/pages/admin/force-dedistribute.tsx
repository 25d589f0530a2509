/**
 * Forced dedistribution: when a mail child is lost, its accounts are served from the parent at
 * once. The confirmation names every account it will touch, and the answer is the loss report.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, call } from '../../api/client.ts';
import type { LossReport } from '../../api/types.ts';
import { Confirm } from '../../components/confirm.tsx';
import { useAction } from '../../components/form.tsx';
import { Badge, Card, Loading, Refusal, Table, useLoad, when } from '../../components/ui.tsx';
import { href } from '../../router.ts';

export function ForceDedistribute({ alias }: { alias: string }): JSX.Element {
  const state = useLoad(() => call(api.GET('/api/nodes/{alias}/distributed-accounts', { params: { path: { alias } } })), [alias]);
  const [chosen, setChosen] = useState<string[]>([]);
  const [confirming, setConfirming] = useState(false);
  const [accepted, setAccepted] = useState(false);
  const [report, setReport] = useState<LossReport | null>(null);
  const action = useAction();
  return (
    <Card title="Accounts whose mail this node holds" id="node-accounts">
      <Loading state={state}>
        {({ accounts }) => (
          <>
            <Table
              caption="Distributed accounts"
              rows={accounts}
              rowKey={(a) => a.username}
              empty="This node holds no account's mail."
              columns={[
                {
                  label: 'Select',
                  cell: (a) => (
                    <input type="checkbox" aria-label={`select ${a.username}`} checked={chosen.includes(a.username)} onChange={(event) => setChosen(event.currentTarget.checked ? [...chosen, a.username] : chosen.filter((u) => u !== a.username))} />
                  ),
                },
                { label: 'Account', cell: (a) => <a href={href('accounts', a.username)}>{a.username}</a> },
                { label: 'Domain', cell: (a) => a.domain, secondary: true },
                { label: 'State', cell: (a) => <Badge value={a.state} /> },
                { label: 'Grace until', cell: (a) => when(a.graceUntil), secondary: true },
              ]}
            />
            {accounts.length > 0 && (
              <div class="form-actions">
                <button type="button" class="danger" disabled={chosen.length === 0} onClick={() => (setAccepted(false), action.clear(), setConfirming(true))}>
                  Force dedistribution…
                </button>
              </div>
            )}
          </>
        )}
      </Loading>
      <Confirm
        open={confirming}
        title="Serve these accounts from the parent now?"
        confirm="Force dedistribution"
        danger
        busy={action.busy}
        onCancel={() => setConfirming(false)}
        onConfirm={() =>
          void action.run(async () => {
            setReport(await call(api.POST('/api/nodes/{alias}/force-dedistribute', { params: { path: { alias } }, body: { usernames: chosen, acceptDataLoss: accepted } })));
            setConfirming(false);
            setChosen([]);
            state.reload();
          })
        }
      >
        <p>
          The mail of these accounts is served from the parent at once and <strong>{alias}</strong> loses its credentials for them. Mail that only {alias} holds is lost:
        </p>
        <ul class="named">
          {chosen.map((username) => (
            <li key={username}>{username}</li>
          ))}
        </ul>
        <label class="check">
          <input type="checkbox" checked={accepted} onChange={(event) => setAccepted(event.currentTarget.checked)} />I accept that mail only on {alias} is lost
        </label>
        <Refusal refusal={action.refusal} />
      </Confirm>
      {report && <LossReportView report={report} />}
    </Card>
  );
}

function LossReportView({ report }: { report: LossReport }): JSX.Element {
  return (
    <div class="report" role="status">
      <h3>Loss report for {report.node}</h3>
      {report.abandonedJobs.length > 0 && <p>Moves given up: {report.abandonedJobs.map((id) => `#${id}`).join(', ')}</p>}
      {report.accounts.map((account) => (
        <div key={account.username}>
          <h4>
            {account.username} — credentials {account.revoked}
          </h4>
          <Table
            caption={`Mailboxes of ${account.username}`}
            rows={account.mailboxes}
            rowKey={(m) => m.address}
            empty="No mailboxes."
            columns={[
              { label: 'Mailbox', cell: (m) => m.address },
              { label: 'Lost messages', cell: (m) => String(m.lostGuids.length) },
              { label: 'On the parent', cell: (m) => String(m.messagesOnParent) },
              { label: 'Note', cell: (m) => m.note, secondary: true },
            ]}
          />
        </div>
      ))}
    </div>
  );
}
