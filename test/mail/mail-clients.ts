/**
 * Small mail clients for the daemon tests: SMTP through nodemailer, IMAP through imapflow and
 * POP3 in a few lines of node:tls, each with self-signed certificates accepted (every node has one).
 */
import { connect as connectTls } from 'node:tls';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';

const SELF_SIGNED = { rejectUnauthorized: false };

export async function sendMail(server: string, message: { to: string; subject: string; text?: string; from?: string }): Promise<void> {
  const transport = nodemailer.createTransport({ host: server, port: 25, secure: false, tls: SELF_SIGNED, name: 'tester.fleet.internal' });
  try {
    await transport.sendMail({ from: message.from ?? 'tester@example.net', to: message.to, subject: message.subject, text: message.text ?? `${message.subject}\n` });
  } finally {
    transport.close();
  }
}

export interface ImapLogin {
  host: string;
  user: string;
  pass: string;
  /** 993 with implicit TLS; otherwise 143, upgraded with STARTTLS (Dovecot refuses plaintext logins). */
  implicitTls?: boolean;
}

export function imapClient(login: ImapLogin): ImapFlow {
  return new ImapFlow({
    host: login.host,
    port: login.implicitTls ? 993 : 143,
    secure: login.implicitTls ?? false,
    doSTARTTLS: login.implicitTls ? undefined : true,
    tls: SELF_SIGNED,
    auth: { user: login.user, pass: login.pass },
    logger: false,
  });
}

/** Logs in, runs `work`, logs out even when `work` throws. */
export async function withImap<T>(login: ImapLogin, work: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = imapClient(login);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.logout().catch(() => undefined);
  }
}

export async function imapSubjects(login: ImapLogin, mailbox = 'INBOX'): Promise<string[]> {
  return withImap(login, async (client) => {
    const lock = await client.getMailboxLock(mailbox);
    try {
      const exists = client.mailbox === false ? 0 : client.mailbox.exists;
      if (exists === 0) return [];
      const messages = await client.fetchAll('1:*', { envelope: true });
      return messages.map((m) => m.envelope?.subject ?? '').sort();
    } finally {
      lock.release();
    }
  });
}

/** Resolves true when the login succeeds, false when the server refuses the credentials. */
export async function imapLoginSucceeds(login: ImapLogin): Promise<boolean> {
  const client = imapClient(login);
  try {
    await client.connect();
    await client.logout();
    return true;
  } catch (error) {
    if ((error as { authenticationFailed?: boolean }).authenticationFailed) return false;
    throw error;
  }
}

/**
 * POP3 over implicit TLS (995): logs in and returns every message's raw text, or throws with
 * the server's -ERR line.
 */
export function pop3Retrieve(host: string, user: string, pass: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host, port: 995, ...SELF_SIGNED });
    socket.setEncoding('utf8');
    // Dovecot's auth penalty delays each further failed login from one address, up to 15 s.
    socket.setTimeout(30_000, () => socket.destroy(new Error('POP3 session timed out')));
    let buffer = '';
    const waiters: { multiline: boolean; resolve: (reply: string) => void }[] = [];
    const drain = () => {
      for (;;) {
        const waiter = waiters[0];
        if (!waiter) return;
        const end = waiter.multiline && buffer.startsWith('+OK') ? buffer.indexOf('\r\n.\r\n') : buffer.indexOf('\r\n');
        if (end < 0) return;
        const length = waiter.multiline && buffer.startsWith('+OK') ? end + 5 : end + 2;
        const reply = buffer.slice(0, length);
        buffer = buffer.slice(length);
        waiters.shift();
        waiter.resolve(reply);
      }
    };
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      drain();
    });
    socket.on('error', reject);
    const next = (multiline = false) =>
      new Promise<string>((done) => {
        waiters.push({ multiline, resolve: done });
        drain();
      });
    const command = async (line: string, multiline = false): Promise<string> => {
      const reply = next(multiline);
      socket.write(`${line}\r\n`);
      const text = await reply;
      if (!text.startsWith('+OK')) throw new Error(`POP3 ${line.split(' ')[0]} refused: ${text.trim()}`);
      return text;
    };
    (async () => {
      await next();
      await command(`USER ${user}`);
      await command(`PASS ${pass}`);
      const count = Number((await command('STAT')).split(' ')[1]);
      const messages: string[] = [];
      for (let n = 1; n <= count; n++) {
        const reply = await command(`RETR ${n}`, true);
        messages.push(reply.slice(reply.indexOf('\r\n') + 2, -5).replace(/^\.\./gm, '.'));
      }
      await command('QUIT');
      socket.end();
      return messages;
    })().then(resolve, (error: unknown) => {
      socket.destroy();
      reject(error);
    });
  });
}
