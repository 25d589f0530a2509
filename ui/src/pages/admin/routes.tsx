/** The administrator's panel: its navigation and which page each route shows. */
import type { JSX } from 'preact';
import { Dashboard } from './dashboard.tsx';
import { NodesPage } from './nodes.tsx';
import { NodePage } from './node.tsx';
import { AccountsPage } from './accounts.tsx';
import { AccountPage } from '../account.tsx';
import { PlansPage } from './plans.tsx';
import { ResellersPage } from './resellers.tsx';
import { PoliciesPage } from './policies.tsx';
import { SysdataPage } from './sysdata.tsx';
import { JobsPage, JobPage } from './jobs.tsx';
import { NotFound } from '../../components/ui.tsx';

export const ADMIN_NAV = [
  { path: '', label: 'Dashboard' },
  { path: 'nodes', label: 'Nodes' },
  { path: 'accounts', label: 'Accounts' },
  { path: 'plans', label: 'Plans' },
  { path: 'resellers', label: 'Resellers' },
  { path: 'policies', label: 'Password policies' },
  { path: 'sysdata', label: 'System data' },
  { path: 'jobs', label: 'Jobs' },
];

export function adminPage([section = '', id]: string[]): JSX.Element {
  switch (section) {
    case '':
      return <Dashboard />;
    case 'nodes':
      return id ? <NodePage alias={id} /> : <NodesPage />;
    case 'accounts':
      return id ? <AccountPage username={id} admin /> : <AccountsPage />;
    case 'plans':
      return <PlansPage />;
    case 'resellers':
      return <ResellersPage />;
    case 'policies':
      return <PoliciesPage />;
    case 'sysdata':
      return <SysdataPage />;
    case 'jobs':
      return id ? <JobPage id={Number(id)} /> : <JobsPage />;
    default:
      return <NotFound message={`There is no page '${section}'.`} />;
  }
}
