/**
 * System accounts the mail instances depend on, looked up at run time: their ids differ between
 * machines, and scripts/setup.sh creates fleetvmail with whatever id is free.
 */
import { run } from '../core/exec.ts';
import { InternalError } from '../core/errors.ts';

export const MAIL_USER = 'fleetvmail';

export interface MailSystemIds {
  vmailUid: number;
  vmailGid: number;
  /** Group of Dovecot's auth process, which reads the passwd-files. */
  dovecotGid: number;
}

async function getent(database: 'passwd' | 'group', name: string): Promise<string[]> {
  try {
    const { stdout } = await run('getent', [database, name]);
    return stdout.trim().split(':');
  } catch {
    throw new InternalError(`system ${database === 'passwd' ? 'user' : 'group'} '${name}' is missing; run scripts/setup.sh`);
  }
}

export async function lookupMailSystemIds(): Promise<MailSystemIds> {
  const vmail = await getent('passwd', MAIL_USER);
  const dovecot = await getent('group', 'dovecot');
  return { vmailUid: Number(vmail[2]), vmailGid: Number(vmail[3]), dovecotGid: Number(dovecot[2]) };
}
