import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../core/errors.ts';
import { validateAccessEntry, validateFirewallRule, validateList, validateScheduledTask } from './sysdata-items.ts';

const rule = { id: 'r1', action: 'deny', protocol: 'tcp', port: 2555, source: '0.0.0.0/0' };
const task = { id: 't1', schedule: '*/5 * * * *', command: '/usr/local/bin/backup --all', user: 'root' };
const entry = { id: 'e1', kind: 'sender', value: 'spam@example.com' };

function assertRefused(run: () => unknown, field: string, reason?: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
    assert.equal(error.field, field);
    if (reason) assert.match(error.message, reason);
    return true;
  });
}

test('valid items pass and come back with only their known fields', () => {
  assert.deepEqual(validateFirewallRule({ ...rule, port: '8000-8100', comment: 'web (staging)' }), { ...rule, port: '8000-8100', comment: 'web (staging)' });
  assert.deepEqual(validateScheduledTask(task), task);
  assert.deepEqual(validateAccessEntry(entry), entry);
  assert.deepEqual(validateAccessEntry({ id: 'd', kind: 'sender', value: '@example.org' }).value, '@example.org');
  assert.deepEqual(validateAccessEntry({ id: 'n', kind: 'network', value: '192.0.2.0/24' }).value, '192.0.2.0/24');
  for (const schedule of ['@daily', '@reboot', '0 3 * * 1-5', '0,30 8-18/2 1 1,6,12 0', '59 23 31 12 7']) {
    assert.equal(validateScheduledTask({ ...task, schedule }).schedule, schedule);
  }
});

const firewallRefusals: [string, Record<string, unknown>, string, RegExp?][] = [
  ['port 0', { port: 0 }, 'port', /1 to 65535/],
  ['port 65536', { port: 65536 }, 'port', /1 to 65535/],
  ['fractional port', { port: 80.5 }, 'port'],
  ['port as a plain string', { port: '80' }, 'port'],
  ['backwards range', { port: '9000-8000' }, 'port', /lower to a higher/],
  ['range past 65535', { port: '65000-70000' }, 'port', /1 to 65535/],
  ['deny of SSH', { port: 22 }, 'port', /tcp port 22 \(SSH\)/],
  ['deny range covering the agent', { port: '7000-8000' }, 'port', /7443/],
  ['unknown action', { action: 'drop' }, 'action'],
  ['unknown protocol', { protocol: 'icmp' }, 'protocol'],
  ['source with host bits', { source: '10.0.0.1/8' }, 'source', /10\.0\.0\.0\/8/],
  ['source /32', { source: '10.0.0.1/32' }, 'source', /without \/32/],
  ['source not an address', { source: 'any' }, 'source'],
  ['comment with a newline', { comment: 'a\nb' }, 'comment'],
  ['comment with a quote', { comment: 'say "hi"' }, 'comment', /quotes/],
  ['comment with braces', { comment: 'x } table' }, 'comment', /braces/],
  ['comment with NUL', { comment: 'a\0b' }, 'comment'],
  ['id with braces', { id: 'r{1}' }, 'id'],
  ['id with a colon (reserved for unmanaged entries)', { id: 'unmanaged:1' }, 'id'],
  ['unknown field', { chain: 'output' }, 'chain', /not a known field/],
];
for (const [name, change, field, reason] of firewallRefusals) {
  test(`firewall rule refuses ${name}`, () => assertRefused(() => validateFirewallRule({ ...rule, ...change }), field, reason));
}

test('SSH and agent ports may be allowed, and denied over udp', () => {
  const allowSsh = { ...rule, action: 'allow', port: 22 };
  const denyAgentUdp = { ...rule, protocol: 'udp', port: 7443 };
  assert.deepEqual(validateFirewallRule(allowSsh), allowSsh);
  assert.deepEqual(validateFirewallRule(denyAgentUdp), denyAgentUdp);
  // The same rules over tcp would lock the panel out, which is what makes these two worth accepting.
  assertRefused(() => validateFirewallRule({ ...allowSsh, action: 'deny' }), 'port', /tcp port 22/);
  assertRefused(() => validateFirewallRule({ ...denyAgentUdp, protocol: 'tcp' }), 'port', /tcp port 7443/);
});

const taskRefusals: [string, Record<string, unknown>, string, RegExp?][] = [
  ['a newline in the command', { command: 'ls\nrm -rf /' }, 'command'],
  ['NUL in the command', { command: 'ls\0' }, 'command'],
  ['% in the command', { command: 'date +%F' }, 'command', /%/],
  ['leading space in the command', { command: ' ls' }, 'command'],
  ['four fields', { schedule: '* * * *' }, 'schedule'],
  ['six fields', { schedule: '* * * * * *' }, 'schedule'],
  ['double spaces', { schedule: '*  * * * *' }, 'schedule'],
  ['minute 60', { schedule: '60 * * * *' }, 'schedule', /outside 0-59/],
  ['day of month 0', { schedule: '0 0 0 * *' }, 'schedule', /outside 1-31/],
  ['backwards range', { schedule: '0 5-2 * * *' }, 'schedule', /backwards/],
  ['step 0', { schedule: '*/0 * * * *' }, 'schedule'],
  ['a bare step start', { schedule: '5/10 * * * *' }, 'schedule'],
  ['month names', { schedule: '0 0 1 jan *' }, 'schedule'],
  ['an unknown macro', { schedule: '@yearly' }, 'schedule'],
  ['braces in the schedule', { schedule: '{} * * * *' }, 'schedule'],
  ['an upper-case user', { user: 'Root' }, 'user'],
  ['a user with a space', { user: 'a b' }, 'user'],
  ['a missing user', { user: undefined }, 'user', /required/],
];
for (const [name, change, field, reason] of taskRefusals) {
  test(`scheduled task refuses ${name}`, () => assertRefused(() => validateScheduledTask({ ...task, ...change }), field, reason));
}

const entryRefusals: [string, Record<string, unknown>, string][] = [
  ['a newline in a sender', { value: 'a@example.com\nb' }, 'value'],
  ['quotes in a sender', { value: '"a"@example.com' }, 'value'],
  ['a bare domain without @', { value: 'example.com' }, 'value'],
  ['an upper-case domain', { value: '@Example.com' }, 'value'],
  ['a network for kind sender', { value: '10.0.0.0/8' }, 'value'],
  ['a sender for kind network', { kind: 'network', value: 'a@example.com' }, 'value'],
  ['a network with host bits', { kind: 'network', value: '10.0.0.1/8' }, 'value'],
  ['an unknown kind', { kind: 'client' }, 'kind'],
];
for (const [name, change, field] of entryRefusals) {
  test(`access entry refuses ${name}`, () => assertRefused(() => validateAccessEntry({ ...entry, ...change }), field));
}

test('a list names the item and field, and refuses doubled ids and entries', () => {
  assertRefused(() => validateList('firewall', [rule, { ...rule, id: 'r2', port: 70000 }]), 'firewall[1].port');
  assertRefused(() => validateList('scheduler', [task, task]), 'scheduler[1].id', /used twice/);
  assertRefused(() => validateList('blacklist', [entry, { ...entry, id: 'e2' }]), 'blacklist[1].value', /twice/);
  assertRefused(() => validateList('whitelist', { entry }), 'whitelist');
  assert.equal(validateList('whitelist', [entry]).length, 1);
});
