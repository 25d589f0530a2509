import { ConflictError } from '../core/errors.ts';
import type { AgentContext } from './agent-module.ts';
import type { DaemonDriver } from './driver.ts';

/** The running daemon of a role, or a refusal that says the node does not serve that role. */
export function requireDaemon<T extends DaemonDriver>(ctx: AgentContext, name: string, role: string): T {
  const daemon = ctx.daemon<T>(name);
  if (!daemon) throw new ConflictError(`this node does not run ${name}: the ${role} role is not assigned to it (or its software sync has not run)`);
  return daemon;
}
