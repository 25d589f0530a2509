import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFirewallListing, renderFirewall } from './firewall.driver.ts';
import type { FirewallRule } from '../protocol/sysdata-items.ts';

const options = { address: '127.0.23.2' };
const rules: FirewallRule[] = [
  { id: 'z-deny', action: 'deny', protocol: 'udp', port: '5000-5010', source: '10.0.0.0/8', comment: 'noisy lan' },
  { id: 'a-allow', action: 'allow', protocol: 'tcp', port: 80, source: '0.0.0.0/0' },
];

test('the script replaces only its own table, guards first, allow rules before deny rules', () => {
  const lines = renderFirewall(options, rules).split('\n').map((l) => l.trim());
  assert.deepEqual(lines.slice(1, 4), ['table inet fleetpanel_127_0_23_2', 'delete table inet fleetpanel_127_0_23_2', 'table inet fleetpanel_127_0_23_2 {']);
  const ruleLines = lines.filter((l) => l.startsWith('ip daddr'));
  assert.deepEqual(ruleLines, [
    'ip daddr 127.0.23.2 tcp dport 22 accept comment "fleetpanel:guard port 22"',
    'ip daddr 127.0.23.2 tcp dport 7443 accept comment "fleetpanel:guard port 7443"',
    'ip daddr 127.0.23.2 ct state established,related accept comment "fleetpanel:guard established"',
    'ip daddr 127.0.23.2 tcp dport 80 accept comment "fp:a-allow"',
    'ip daddr 127.0.23.2 ip saddr 10.0.0.0/8 udp dport 5000-5010 reject comment "fp:z-deny noisy lan"',
  ]);
});

const match = (protocol: string, field: string, right: unknown) => ({ match: { op: '==', left: { payload: { protocol, field } }, right } });
const guard = (port: number | null, comment: string) => ({ rule: { chain: 'input', handle: port ?? 1, comment, expr: [match('ip', 'daddr', '127.0.23.2'), { accept: null }] } });

test('a listing parses back into rules; a foreign rule and a missing guard become unmanaged entries', () => {
  const listing = {
    nftables: [
      { chain: { name: 'input', hook: 'input', policy: 'accept' } },
      guard(22, 'fleetpanel:guard port 22'),
      guard(null, 'fleetpanel:guard established'),
      { rule: { chain: 'input', handle: 7, comment: 'fp:z-deny noisy lan', expr: [match('ip', 'daddr', '127.0.23.2'), match('ip', 'saddr', { prefix: { addr: '10.0.0.0', len: 8 } }), match('udp', 'dport', { range: [5000, 5010] }), { reject: { type: 'icmp' } }] } },
      { rule: { chain: 'input', handle: 8, expr: [match('ip', 'daddr', '127.0.23.2'), match('tcp', 'dport', 2600), { counter: { packets: 0 } }, { drop: null }] } },
    ],
  };
  assert.deepEqual(parseFirewallListing(options, listing), [
    rules[0],
    { id: 'unmanaged:handle-8', action: 'deny', protocol: 'tcp', port: 2600, source: '0.0.0.0/0' },
    { id: 'unmanaged:missing-guard-7443', action: 'deny', protocol: 'tcp', port: 7443, source: '0.0.0.0/0' },
  ]);
});

test('a chain whose policy was turned to drop is drift', () => {
  const parsed = parseFirewallListing(options, { nftables: [{ chain: { name: 'input', hook: 'input', policy: 'drop' } }] });
  assert.ok(parsed.some((r) => r.id === 'unmanaged:chain-input-policy-drop'));
});
