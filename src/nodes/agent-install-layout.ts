/**
 * Where the SSH installer puts the agent on a node, shared by the installer and the local cluster
 * (which restarts an installed agent after `demo down`).
 */
import { posix } from 'node:path';

export const DEFAULT_INSTALL_DIR = '/opt/fleetpanel-agent';
export const DEFAULT_NODE_ROOT = '/var/lib/fleetpanel-agent';

export function installedAgent(installDir: string): { node: string; bundle: string; config: string } {
  return {
    node: posix.join(installDir, 'node'),
    bundle: posix.join(installDir, 'fleetpanel-agent.mjs'),
    config: posix.join(installDir, 'agent.json'),
  };
}

/** The command line of a supervised agent (nodes without systemd). */
export function supervisedAgentArgv(installDir: string): string[] {
  const files = installedAgent(installDir);
  return [files.node, files.bundle, '--config', files.config, '--supervise'];
}

/** Where a supervised (non-systemd) agent's PID is kept in its node root. */
export function agentPidFile(nodeRoot: string): string {
  return posix.join(nodeRoot, 'run', 'fleetpanel-agent.pid');
}
