/**
 * Where a node keeps its files. Every node has its own root folder, so several nodes can share
 * one machine (the local cluster) without sharing a single file; on a real node the root is
 * /var/lib/fleetpanel-agent.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

export class NodeLayout {
  constructor(readonly root: string) {}

  /** Configuration of the daemon instance `name` (dovecot, postfix, nginx, pdns, ...). */
  etc(name: string, ...rest: string[]): string {
    return join(this.root, 'etc', name, ...rest);
  }
  /** Runtime files: sockets, PID files. Kept short because UNIX socket paths are limited to 108 bytes. */
  run(name: string, ...rest: string[]): string {
    return join(this.root, 'run', name, ...rest);
  }
  /** Persistent state of a daemon (queues, databases). */
  lib(name: string, ...rest: string[]): string {
    return join(this.root, 'lib', name, ...rest);
  }
  log(name: string): string {
    return join(this.root, 'log', `${name}.log`);
  }
  /** The agent's own state (link, certificates, desired state of each workload). */
  agent(...rest: string[]): string {
    return join(this.root, 'agent', ...rest);
  }
  /** Maildirs: mail/<domain>/<local part>/Maildir. */
  mail(...rest: string[]): string {
    return join(this.root, 'mail', ...rest);
  }
  /** Web content: www/<account>/<domain>/public_html. */
  www(...rest: string[]): string {
    return join(this.root, 'www', ...rest);
  }

  ensure(): void {
    for (const dir of ['etc', 'run', 'lib', 'log', 'agent', 'mail', 'www']) {
      mkdirSync(join(this.root, dir), { recursive: true });
    }
  }
}
