/**
 * Software synchronisation: the Debian packages a node's roles need, installed when missing.
 * Daemons must not start on their default ports when installed (the agent runs its own
 * instances), hence the policy-rc.d guard around apt-get.
 */
import { existsSync, writeFileSync, rmSync } from 'node:fs';
import { run } from '../core/exec.ts';

export async function missingPackages(packages: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const pkg of packages) {
    try {
      const { stdout } = await run('dpkg-query', ['-W', '-f=${Status}', pkg]);
      if (!stdout.includes('install ok installed')) missing.push(pkg);
    } catch {
      missing.push(pkg);
    }
  }
  return missing;
}

export async function ensurePackages(packages: readonly string[]): Promise<string[]> {
  const missing = await missingPackages(packages);
  if (missing.length === 0) return [];
  const guard = '/usr/sbin/policy-rc.d';
  const hadGuard = existsSync(guard);
  if (!hadGuard) writeFileSync(guard, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await run('apt-get', ['update', '-q'], { env, timeoutMs: 600_000 });
    await run('apt-get', ['install', '-y', '-q', ...missing], { env, timeoutMs: 1_200_000 });
  } finally {
    if (!hadGuard) rmSync(guard, { force: true });
  }
  return missing;
}
