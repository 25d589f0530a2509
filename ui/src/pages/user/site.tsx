/** Where an account's site, mail and zone live, with the site's and the webmail's addresses. */
import type { JSX } from 'preact';
import type { AccountView } from '../../api/types.ts';
import { Card } from '../../components/ui.tsx';

export function SiteCard({ account }: { account: AccountView }): JSX.Element {
  const node = (workload: string): string => account.placements.find((p) => p.workload === workload)?.node ?? '—';
  const webmail = `http://webmail.${account.domain}/`;
  return (
    <Card title="Site and webmail" id="site">
      <dl class="facts">
        <dt>Website</dt>
        <dd>
          <a href={`http://${account.domain}/`} rel="noopener noreferrer" target="_blank">
            http://{account.domain}/
          </a>{' '}
          <span class="hint">served by {node('web')}</span>
        </dd>
        <dt>Webmail</dt>
        <dd>
          <a id="webmail-link" href={webmail} rel="noopener noreferrer" target="_blank">
            {webmail}
          </a>{' '}
          <span class="hint">Roundcube; log in with a mailbox address and its password</span>
        </dd>
        <dt>Mail lives on</dt>
        <dd data-mail-home>{account.mailNode ? `${account.mailNode} (a mail child)` : `${node('mail')}, the parent's own node`}</dd>
        <dt>DNS served by</dt>
        <dd>{node('dns')}</dd>
        <dt>Mail clients</dt>
        <dd>
          IMAP and SMTP at <code>mail.{account.domain}</code> with the full address as the user name
        </dd>
      </dl>
    </Card>
  );
}
