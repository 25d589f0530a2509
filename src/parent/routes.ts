/** Every route module of the parent API. One line per domain. */
import type { HttpApp } from '../transport/http-app.ts';
import type { ParentContext } from './parent-context.ts';
import { registerDistributionRoutes } from '../distribution/distribution.routes.ts';
import { registerAuthRoutes } from '../auth/auth.routes.ts';
import { registerNodeRoutes } from '../nodes/nodes.routes.ts';
import { registerJobRoutes } from '../jobs/jobs.routes.ts';
import { registerAccountRoutes } from '../accounts/accounts.routes.ts';
import { registerPasswordPolicyRoutes } from '../passwords/password-policy.routes.ts';
import { registerUiRoutes } from '../ui/ui.routes.ts';
import { registerSysdataRoutes } from '../sysdata/sysdata.routes.ts';
import { registerDnsRoutes } from '../dns/dns.routes.ts';
import { registerMailRoutes } from '../mail/mail.routes.ts';

export const ROUTE_MODULES: ((app: HttpApp, ctx: ParentContext) => void)[] = [
  registerAuthRoutes,
  registerNodeRoutes,
  registerJobRoutes,
  registerAccountRoutes,
  registerPasswordPolicyRoutes,
  registerUiRoutes,
  registerSysdataRoutes,
  registerDnsRoutes,
  registerMailRoutes,
  registerDistributionRoutes,
];
