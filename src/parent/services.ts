/**
 * Domain services that attach to the parent at start-up (they add data-sync steps, node usage
 * checks and their own members to the context). One line per domain.
 */
import type { ParentContext } from './parent-context.ts';
import { attachJobEngine } from '../jobs/jobs.module.ts';
import { attachSysdata } from '../sysdata/sysdata.parent.ts';
import { attachMail } from '../mail/mail.module.ts';
import { attachWeb } from '../web/web.module.ts';
import { attachDns } from '../dns/dns.module.ts';
import { attachWebmail } from '../webmail/webmail.parent.ts';
import { attachDistribution } from '../distribution/distribution.module.ts';

export const SERVICE_MODULES: ((ctx: ParentContext) => Promise<void> | void)[] = [
  attachJobEngine, // first: later modules register their job types on ctx.jobs
  attachSysdata,
  attachMail,
  attachWeb,
  attachWebmail, // after mail and web: it forwards a child's webmail host through the parent's nginx
  attachDns,
  attachDistribution, // after mail and DNS, whose services it moves accounts between
];
