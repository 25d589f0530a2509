/** Every module the agent runs. One line per area; the order is the daemon start order. */
import type { AgentModule } from './agent-module.ts';
import { sysdataAgentModule } from '../sysdata/sysdata.agent-module.ts';
import { mailAgentModule } from '../mail/mail.agent-module.ts';
import { webAgentModule } from '../web/web.agent-module.ts';
import { dnsAgentModule } from '../dns/dns.agent-module.ts';
import { webmailAgentModule } from '../webmail/webmail.agent-module.ts';

export const AGENT_MODULES: AgentModule[] = [
  sysdataAgentModule,
  mailAgentModule,
  webAgentModule,
  webmailAgentModule, // after web: it reuses the node's nginx when the web role runs one
  dnsAgentModule,
];
