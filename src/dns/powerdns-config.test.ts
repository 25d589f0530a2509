import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderPowerDnsConfig, type PowerDnsConfigInput } from './powerdns-config.ts';

const input = (overrides: Partial<PowerDnsConfigInput> = {}): PowerDnsConfigInput => ({
  address: '127.0.22.2',
  dnsPort: 53,
  apiPort: 8081,
  apiKey: 'k3y_of-the-node-0123456789',
  apiAllowFrom: ['127.0.0.0/8'],
  database: '/srv/node/lib/pdns/pdns.sqlite3',
  socketDir: '/srv/node/run/pdns',
  ...overrides,
});

describe('renderPowerDnsConfig', () => {
  const config = renderPowerDnsConfig(input());
  const settings = new Map(
    config
      .split('\n')
      .filter((line) => line.includes('=') && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

  it('binds DNS and the API to the node address only', () => {
    assert.equal(settings.get('local-address'), '127.0.22.2');
    assert.equal(settings.get('local-port'), '53');
    assert.equal(settings.get('webserver-address'), '127.0.22.2');
    assert.equal(settings.get('webserver-port'), '8081');
    assert.equal(settings.get('webserver-allow-from'), '127.0.0.0/8');
    assert.equal(settings.get('api'), 'yes');
    assert.equal(settings.get('api-key'), 'k3y_of-the-node-0123456789');
  });

  it('keeps its database and sockets under the node root and runs in the foreground', () => {
    assert.equal(settings.get('launch'), 'gsqlite3');
    assert.equal(settings.get('gsqlite3-database'), '/srv/node/lib/pdns/pdns.sqlite3');
    assert.equal(settings.get('socket-dir'), '/srv/node/run/pdns');
    assert.equal(settings.get('daemon'), 'no');
    assert.equal(settings.get('guardian'), 'no');
  });

  it('refuses values that could inject settings', () => {
    assert.throws(() => renderPowerDnsConfig(input({ address: '127.0.22.2\napi-key=x' })), /address/);
    assert.throws(() => renderPowerDnsConfig(input({ apiKey: 'short' })), /apiKey/);
    assert.throws(() => renderPowerDnsConfig(input({ apiKey: 'a'.repeat(20) + '\nx' })), /apiKey/);
    assert.throws(() => renderPowerDnsConfig(input({ apiAllowFrom: ['0.0.0.0/0,evil'] })), /apiAllowFrom\[0\]/);
    assert.throws(() => renderPowerDnsConfig(input({ database: '/srv/my node/db' })), /database/);
    assert.throws(() => renderPowerDnsConfig(input({ dnsPort: 0 })), /dnsPort/);
  });

  it('refuses a socket-dir too long for a UNIX socket path', () => {
    assert.throws(() => renderPowerDnsConfig(input({ socketDir: `/${'a'.repeat(100)}` })), /longer than 107 bytes/);
  });
});
