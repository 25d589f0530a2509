/**
 * The node side of system data: PUT makes the node hold exactly the given list (validated again
 * here, because a node never trusts its input), GET reads the list back from the real thing (nft
 * table, cron file, Postfix maps) with its digest, which is what the parent's synchronizers
 * compare. Runs on every node; the mail lists only where the mail role is assigned.
 */
import { Type } from '@sinclair/typebox';
import type { AgentContext, AgentModule } from '../agent/agent-module.ts';
import type { DaemonDriver } from '../agent/driver.ts';
import { ConflictError } from '../core/errors.ts';
import { readJsonFile } from '../core/files.ts';
import { createAccessMapDrivers } from './access-map.driver.ts';
import { digest } from './digest.ts';
import type { SystemDataDriver } from './driver.ts';
import { FirewallDriver } from './firewall.driver.ts';
import { SchedulerDriver } from './scheduler.driver.ts';
import { PROTECTED_TCP_PORTS, SysdataListRequest, SystemDataTypeSchema, validateList, type SysdataListResponse, type SystemDataType } from '../protocol/sysdata-items.ts';

type NodeDrivers = { [T in SystemDataType]: SystemDataDriver<T> };

const MAIL_LISTS: ReadonlySet<SystemDataType> = new Set(['whitelist', 'blacklist']);

/** The mail module's Postfix, when it runs on this node (it is absent while the role is not assigned). */
async function reloadPostfixIfRunning(ctx: AgentContext): Promise<void> {
  if (!ctx.roles().includes('mail')) return;
  const postfix = ctx.daemon<DaemonDriver>('postfix');
  // A stopped Postfix reads the maps when it starts.
  if (!postfix || !(await postfix.status()).running) return;
  // Postfix reads access maps when smtpd starts; a map it cannot parse would refuse all mail.
  await postfix.check();
  await postfix.reload();
}

function createNodeDrivers(ctx: AgentContext): NodeDrivers {
  const agentPort = readJsonFile<{ port?: number }>(ctx.layout.agent('node.json'), {}).port;
  // The agent may listen elsewhere than the default port; that port must stay reachable too.
  const guardedTcpPorts = [...new Set([...PROTECTED_TCP_PORTS.keys(), ...(agentPort === undefined ? [] : [agentPort])])];
  const access = createAccessMapDrivers({ layout: ctx.layout, address: ctx.address, reloadMail: () => reloadPostfixIfRunning(ctx) });
  return {
    firewall: new FirewallDriver({ layout: ctx.layout, address: ctx.address, guardedTcpPorts }),
    scheduler: new SchedulerDriver({ layout: ctx.layout, address: ctx.address }),
    whitelist: access.whitelist,
    blacklist: access.blacklist,
  };
}

const TypeParams = Type.Object({ type: SystemDataTypeSchema });

export const sysdataAgentModule: AgentModule = {
  name: 'sysdata',
  register(app, ctx) {
    const drivers = createNodeDrivers(ctx);
    const readBack = async (type: SystemDataType): Promise<SysdataListResponse> => {
      const items = await (drivers[type] as SystemDataDriver<SystemDataType>).read();
      return { type, items, digest: digest(items as { id: string }[]) };
    };

    app.get('/v1/sysdata/:type', { schema: { params: TypeParams } }, async (request) => readBack(request.params.type));

    app.put(
      '/v1/sysdata/:type',
      { schema: { params: TypeParams, body: SysdataListRequest } },
      async (request) => {
        const type = request.params.type;
        if (MAIL_LISTS.has(type) && !ctx.roles().includes('mail')) {
          throw new ConflictError(`${type}: this node has no mail role, so it keeps no mail ${type}`, { reason: 'no_mail_role' });
        }
        const items = validateList(type, request.body.items);
        await (drivers[type] as SystemDataDriver<SystemDataType>).apply(items);
        ctx.log('system data applied', { type, items: items.length });
        return readBack(type);
      },
    );
  },
};
