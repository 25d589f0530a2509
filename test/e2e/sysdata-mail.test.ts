/**
 * The mail blacklist and whitelist against real Postfix instances over real SMTP. There is no
 * mail agent module yet to start Postfix inside an agent, so each mail node here is the mail
 * driver started directly (127.0.34.12 and .13) with the real sysdata agent module mounted on
 * an HTTP app beside it: the list goes in through PUT /v1/sysdata/blacklist exactly as the parent
 * sends it, the module reloads the node's Postfix, and an SMTP client sees the refusal.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentContext } from '../../src/agent/agent-module.ts';
import { isAlive } from '../../src/agent/daemon-process.ts';
import type { DaemonDriver } from '../../src/agent/driver.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import type { Role } from '../../src/protocol/roles.ts';
import { MailDriver } from '../../src/mail/mail.driver.ts';
import { hashMailPassword } from '../../src/mail/mail-password.ts';
import { type MailState } from '../../src/protocol/mail-state.ts';
import { createHttpApp, type HttpApp } from '../../src/transport/http-app.ts';
import { digest } from '../../src/sysdata/digest.ts';
import { sysdataAgentModule } from '../../src/sysdata/sysdata.agent-module.ts';
import type { SysdataListResponse } from '../../src/protocol/sysdata-items.ts';
import { TEST_NET } from '../test-net.ts';

const MAIL_NODES = [`${TEST_NET}.34.12`, `${TEST_NET}.34.13`];
const SPAMMER_CLIENT = `${TEST_NET}.34.21`;
const RECIPIENT = 'alice@alpha.test';

/** One SMTP dialogue up to RCPT TO; returns the reply to RCPT (where Postfix applies its restrictions). */
async function rcptReply(server: string, sender: string, localAddress?: string): Promise<string> {
  const socket: Socket = connect({ host: server, port: 25, localAddress });
  let buffer = '';
  const waiters: ((reply: string) => void)[] = [];
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    // A reply ends with a line "NNN text" (a space after the code, not a dash).
    for (;;) {
      const match = /(^|\n)(\d{3}) [^\n]*\n/.exec(buffer);
      if (!match) return;
      const end = match.index + match[0].length;
      const reply = buffer.slice(0, end).trim();
      buffer = buffer.slice(end);
      waiters.shift()?.(reply);
    }
  });
  const next = (): Promise<string> => new Promise((resolve) => waiters.push(resolve));
  const say = (line: string): Promise<string> => {
    const reply = next();
    socket.write(`${line}\r\n`);
    return reply;
  };
  try {
    await next(); // greeting
    await say('EHLO tester.fleet.internal');
    await say(`MAIL FROM:<${sender}>`);
    const reply = await say(`RCPT TO:<${RECIPIENT}>`);
    socket.write('QUIT\r\n');
    return reply;
  } finally {
    socket.destroy();
  }
}

interface MailNode {
  address: string;
  mail: MailDriver;
  agent: HttpApp;
}

describe('mail blacklist and whitelist over real SMTP', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'fleetpanel-sysdata-mail-'));
  const nodes: MailNode[] = [];
  const pids: number[] = [];

  const mailState = (): MailState => ({
    domains: [{ domain: 'alpha.test', account: 'alpha', suspended: false }],
    mailboxes: [{ address: RECIPIENT, passwordHash: hashMailPassword('alice-secret-1'), quotaMb: 10, suspended: false }],
    forwarders: [],
    pipeForwarders: [],
    trustedNetworks: [],
  });

  const mountAgentModule = (layout: NodeLayout, address: string, roles: Role[], postfix: DaemonDriver | undefined): HttpApp => {
    const app = createHttpApp();
    const ctx: AgentContext = {
      layout,
      address,
      log: () => undefined,
      roles: () => roles,
      daemon: <T extends DaemonDriver>(name: string) => (name === 'postfix' ? (postfix as T | undefined) : undefined),
      daemons: () => (postfix ? [postfix] : []),
    };
    sysdataAgentModule.register(app, ctx);
    return app;
  };

  const put = async (app: HttpApp, type: string, items: unknown[]): Promise<{ status: number; body: SysdataListResponse & { message?: string } }> => {
    const response = await app.inject({ method: 'PUT', url: `/v1/sysdata/${type}`, payload: { items } });
    return { status: response.statusCode, body: response.json() };
  };

  before(async () => {
    // Dovecot runs as the mail user and reaches the Maildirs by absolute path through here.
    chmodSync(workDir, 0o711);
    const state = mailState();
    for (const address of MAIL_NODES) {
      const layout = new NodeLayout(join(workDir, address));
      const mail = new MailDriver({ layout, address, log: () => undefined }, { hostname: `mail-${address.replaceAll('.', '-')}.fleet.internal` });
      nodes.push({ address, mail, agent: mountAgentModule(layout, address, ['mail'], mail.postfix) });
      await mail.start();
      for (const status of await mail.status()) if (status.pid !== undefined) pids.push(status.pid);
      await mail.apply(state);
    }
  });

  after(async () => {
    for (const node of nodes) {
      await node.agent.close();
      await node.mail.stop().catch(() => undefined);
    }
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(workDir, { recursive: true, force: true });
  });

  test('a blacklisted sender domain and client network are refused by both mail nodes; others still get through', async () => {
    for (const node of nodes) {
      assert.match(await rcptReply(node.address, 'boss@bad.test'), /^250 /, `${node.address} before the blacklist`);
    }
    const blacklist = [
      { id: 'bl-bad-domain', kind: 'sender', value: '@bad.test' },
      { id: 'bl-spam-host', kind: 'network', value: SPAMMER_CLIENT },
    ];
    for (const node of nodes) {
      const applied = await put(node.agent, 'blacklist', blacklist);
      assert.equal(applied.status, 200, applied.body.message);
      assert.equal(applied.body.digest, digest(blacklist as { id: string }[]));
    }
    for (const node of nodes) {
      assert.match(await rcptReply(node.address, 'boss@bad.test'), /^554 5\.7\.1 .*Sender address rejected: Access denied by the mail administrator/);
      assert.match(await rcptReply(node.address, 'friend@good.test'), /^250 /);
      assert.match(await rcptReply(node.address, 'friend@good.test', SPAMMER_CLIENT), /^554 5\.7\.1 .*Client host rejected: Access denied by the mail administrator/);
    }
  });

  test('a whitelisted sender gets through its blacklisted domain, and clearing both lists lets everyone in again', async () => {
    for (const node of nodes) {
      assert.equal((await put(node.agent, 'blacklist', [{ id: 'bl-good-domain', kind: 'sender', value: '@good.test' }])).status, 200);
      assert.equal((await put(node.agent, 'whitelist', [{ id: 'wl-partner', kind: 'sender', value: 'partner@good.test' }])).status, 200);
    }
    for (const node of nodes) {
      assert.match(await rcptReply(node.address, 'partner@good.test'), /^250 /);
      assert.match(await rcptReply(node.address, 'someone@good.test'), /^554 5\.7\.1 /);
    }
    for (const node of nodes) {
      assert.equal((await put(node.agent, 'blacklist', [])).status, 200);
      assert.equal((await put(node.agent, 'whitelist', [])).status, 200);
    }
    for (const node of nodes) {
      assert.match(await rcptReply(node.address, 'boss@bad.test'), /^250 /);
      assert.match(await rcptReply(node.address, 'friend@good.test', SPAMMER_CLIENT), /^250 /);
    }
  });

  test('a node without the mail role refuses the mail lists and holds none', async () => {
    const layout = new NodeLayout(join(workDir, 'web-only'));
    const webOnly = mountAgentModule(layout, `${TEST_NET}.34.14`, ['web'], undefined);
    try {
      const refused = await put(webOnly, 'blacklist', [{ id: 'bl-x', kind: 'sender', value: '@bad.test' }]);
      assert.equal(refused.status, 409);
      assert.match(refused.body.message ?? '', /no mail role/);
      const held = await webOnly.inject({ method: 'GET', url: '/v1/sysdata/blacklist' });
      assert.deepEqual(held.json<SysdataListResponse>().items, []);
    } finally {
      await webOnly.close();
    }
  });
});
