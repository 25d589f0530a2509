/** Plans: quotas for disk, mailboxes and domains that accounts are created with. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, call } from '../../api/client.ts';
import { Form, TextField, useAction } from '../../components/form.tsx';
import { Card, Loading, Page, Table, useLoad } from '../../components/ui.tsx';

export function PlansPage(): JSX.Element {
  const state = useLoad(() => call(api.GET('/api/plans')), []);
  const [name, setName] = useState('');
  const [diskMb, setDiskMb] = useState('');
  const [mailboxes, setMailboxes] = useState('');
  const [domains, setDomains] = useState('1');
  const action = useAction();
  return (
    <Page title="Plans">
      <Card title="Plans">
        <Loading state={state}>
          {({ plans }) => (
            <Table
              caption="Plans"
              rows={plans}
              rowKey={(p) => p.name}
              empty="No plans."
              columns={[
                { label: 'Plan', cell: (p) => `${p.name}${p.isDefault ? ' (default)' : ''}` },
                { label: 'Disk', cell: (p) => `${p.diskMb} MB` },
                { label: 'Mailboxes', cell: (p) => String(p.mailboxes) },
                { label: 'Domains', cell: (p) => String(p.domains), secondary: true },
                { label: 'Accounts', cell: (p) => String(p.accounts), secondary: true },
              ]}
            />
          )}
        </Loading>
      </Card>
      <Card title="Add a plan" id="add-plan">
        <Form
          action={action}
          label="Add a plan"
          fields={['name', 'diskMb', 'mailboxes', 'domains']}
          submit="Add plan"
          onSubmit={() =>
            void action.run(async () => {
              await call(api.POST('/api/plans', { body: { name, diskMb: Number(diskMb), mailboxes: Number(mailboxes), domains: Number(domains) } }));
              setName('');
              state.reload();
            })
          }
        >
          <div class="row">
            <TextField name="name" label="Name" value={name} onValue={setName} autoComplete="off" />
            <TextField name="diskMb" label="Disk (MB)" value={diskMb} onValue={setDiskMb} inputMode="numeric" />
            <TextField name="mailboxes" label="Mailboxes" value={mailboxes} onValue={setMailboxes} inputMode="numeric" />
            <TextField name="domains" label="Domains" value={domains} onValue={setDomains} inputMode="numeric" />
          </div>
        </Form>
      </Card>
    </Page>
  );
}
