/**
 * One OpenSSH server per child node of the local cluster, bound to the child's address at port
 * 22, so the parent installs the child over SSH exactly as it would a remote machine. Host keys,
 * config, PID file and the admin's authorized key all live in the cluster folder: /etc/ssh and
 * /root/.ssh are never touched.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../core/exec.ts';
import { writeFileAtomic } from '../core/files.ts';
import { waitFor } from '../agent/daemon-process.ts';
import { startBackground } from './processes.ts';
import { createConnection } from 'node:net';

const SSHD = '/usr/sbin/sshd';

export interface ClusterSshKey {
  privateKeyFile: string;
  privateKey: string;
}

/** The key the demo admin logs in to every child with (as root), created once per cluster. */
export async function ensureAdminKey(clusterDir: string): Promise<ClusterSshKey> {
  const sshDir = join(clusterDir, 'ssh');
  mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  const privateKeyFile = join(sshDir, 'admin_ed25519');
  if (!existsSync(privateKeyFile)) {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fleetpanel-demo-admin', '-f', privateKeyFile]);
  }
  const authorized = join(sshDir, 'admin_authorized_keys');
  writeFileAtomic(authorized, readFileSync(`${privateKeyFile}.pub`, 'utf8'), 0o600);
  return { privateKeyFile, privateKey: readFileSync(privateKeyFile, 'utf8') };
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts (if not running) the sshd of one child; returns its PID. */
export async function startChildSshd(clusterDir: string, alias: string, address: string, pidFile: string, logFile: string): Promise<number> {
  const dir = join(clusterDir, 'ssh', alias);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  if (!existsSync(hostKey)) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `fleetpanel-demo-${alias}`, '-f', hostKey]);
  const config = join(dir, 'sshd_config');
  writeFileAtomic(
    config,
    [
      `# sshd of the local-cluster node ${alias}; written by src/demo/child-sshd.ts`,
      `ListenAddress ${address}:22`,
      `HostKey ${hostKey}`,
      `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${join(clusterDir, 'ssh', 'admin_authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      // No PAM: a second sshd must not share the system's PAM sessions and limits.
      'UsePAM no',
      // The cluster folder of a test lives under /tmp, whose mode (1777) StrictModes refuses.
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      // The parent registers its own key for its admin user the standard way, in that user's home.
      'Match User fleetmaster',
      '  AuthorizedKeysFile .ssh/authorized_keys',
      '',
    ].join('\n'),
    0o600,
  );
  // Privilege separation needs this folder; Debian creates it only when its own sshd starts.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  await run(SSHD, ['-t', '-f', config]);
  // -D: sshd stays in the foreground, so the recorded PID is the server's own.
  const pid = startBackground(pidFile, logFile, SSHD, ['-D', '-f', config, '-E', logFile]);
  await waitFor(() => portOpen(address, 22), 10_000, `sshd of ${alias} on ${address}:22`);
  return pid;
}
