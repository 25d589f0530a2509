/**
 * A browser's part of a Roundcube login, over plain HTTP to one address with the Host header
 * of the webmail name (the test has no DNS): the login page gives the CSRF token and session
 * cookie, the login POST gives the authenticated session, and the message list is the JSON
 * Roundcube's own page fetches.
 */
import { request } from 'node:http';

interface HttpAnswer {
  status: number;
  location: string | undefined;
  body: string;
}

export class RoundcubeSession {
  private readonly cookies = new Map<string, string>();

  /** `address`: where to connect; `host`: the webmail host name nginx picks the server by. */
  constructor(
    private readonly address: string,
    private readonly host: string,
  ) {}

  private send(method: 'GET' | 'POST', path: string, form?: Record<string, string>, extraHeaders: Record<string, string> = {}): Promise<HttpAnswer> {
    const payload = form ? new URLSearchParams(form).toString() : undefined;
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          host: this.address,
          port: 80,
          method,
          path,
          headers: {
            host: this.host,
            ...(cookie ? { cookie } : {}),
            ...(payload !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(payload) } : {}),
            ...extraHeaders,
          },
          timeout: 30_000,
        },
        (incoming) => {
          for (const line of incoming.headers['set-cookie'] ?? []) {
            const [pair] = line.split(';');
            const at = pair!.indexOf('=');
            const name = pair!.slice(0, at).trim();
            const value = pair!.slice(at + 1).trim();
            // Roundcube expires a cookie by setting it to "-del-" (or empty) with a past date.
            if (value === '' || value === '-del-') this.cookies.delete(name);
            else this.cookies.set(name, value);
          }
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, location: incoming.headers.location, body: Buffer.concat(chunks).toString('utf8') }));
          incoming.on('error', reject);
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer from ${this.address} for ${this.host}${path} in 30 s`)));
      outgoing.on('error', reject);
      outgoing.end(payload);
    });
  }

  /** The HTTP status of the login page: 200 where this host's webmail is served. */
  async loginPageStatus(): Promise<number> {
    return (await this.send('GET', '/')).status;
  }

  /** Returns true when Roundcube accepted the login (it redirects to the mail task). */
  async login(user: string, pass: string): Promise<boolean> {
    const page = await this.send('GET', '/');
    if (page.status !== 200) throw new Error(`login page of ${this.host} at ${this.address}: HTTP ${page.status}: ${page.body.slice(0, 300)}`);
    const token = /name="_token" value="([^"]+)"/.exec(page.body)?.[1];
    if (!token) throw new Error(`no _token on the login page of ${this.host} at ${this.address}: ${page.body.slice(0, 400)}`);
    const answer = await this.send('POST', '/?_task=login', { _token: token, _task: 'login', _action: 'login', _timezone: 'UTC', _url: '', _user: user, _pass: pass });
    return answer.status === 302 && answer.location !== undefined && /_task=mail/.test(answer.location);
  }

  /** The subjects in INBOX, as the logged-in mailbox list shows them. */
  async inboxSubjects(): Promise<string[]> {
    const mailPage = await this.send('GET', '/?_task=mail&_mbox=INBOX');
    if (mailPage.status !== 200) throw new Error(`mail page: HTTP ${mailPage.status}`);
    const requestToken = /"request_token":"([^"]+)"/.exec(mailPage.body)?.[1];
    if (!requestToken) throw new Error('the mail page carries no request token: not logged in');
    const list = await this.send('GET', `/?_task=mail&_action=list&_mbox=INBOX&_remote=1&_unlock=0&_=${Date.now()}`, undefined, {
      'x-roundcube-request': requestToken,
      'x-requested-with': 'XMLHttpRequest',
    });
    if (list.status !== 200) throw new Error(`message list: HTTP ${list.status}: ${list.body.slice(0, 300)}`);
    const { exec } = JSON.parse(list.body) as { exec?: string };
    // Each row is added by a JS call such as this.add_message_row(1,{"subject":"…",…});
    return [...(exec ?? '').matchAll(/"subject":"((?:[^"\\]|\\.)*)"/g)].map((match) => JSON.parse(`"${match[1]}"`) as string);
  }
}
