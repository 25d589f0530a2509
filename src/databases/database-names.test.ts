import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accountOfName, assertAccountName } from './database-names.ts';
import { renderMariadbConfig } from './mariadb-config.ts';

describe('database names', () => {
  it('takes names with the account prefix, up to 64 characters', () => {
    assert.equal(assertAccountName('name', 'alice', 'alice_shop'), 'alice_shop');
    assert.equal(assertAccountName('name', 'alice', `alice_${'x'.repeat(58)}`).length, 64);
    assert.equal(accountOfName('alice_shop_2'), 'alice');
  });
  it('refuses other prefixes, quotes, backticks, %, spaces and 65 characters, naming the field', () => {
    for (const bad of ['shop', 'bob_shop', 'alice_', 'alice', "alice_a'b", 'alice_a`b', 'alice_a%', 'alice_a b', 'alice_a-b', `alice_${'x'.repeat(59)}`, 'ALICE_x']) {
      assert.throws(() => assertAccountName('name', 'alice', bad), /^ValidationError: name: |name: /, bad);
    }
  });
});

describe('renderMariadbConfig', () => {
  const paths = { configFile: '/srv/n/etc/mariadb/my.cnf', dataDir: '/srv/n/lib/mariadb/data', socket: '/srv/n/run/mariadb/mariadbd.sock', pidFile: '/srv/n/run/mariadb/mariadbd.pid', errorLog: '/srv/n/log/mariadb.log' };
  it('binds the node address and keeps every file under the node root', () => {
    const config = renderMariadbConfig({ address: '127.0.10.4', port: 3306, paths, user: 'mysql' });
    assert.match(config, /^bind-address = 127\.0\.10\.4$/m);
    assert.match(config, /^port = 3306$/m);
    assert.match(config, /^datadir = \/srv\/n\/lib\/mariadb\/data$/m);
    assert.match(config, /^skip-name-resolve$/m);
    assert.doesNotMatch(config, /\/var\/lib\/mysql|\/etc\/mysql/);
  });
  it('refuses unsafe addresses and paths', () => {
    assert.throws(() => renderMariadbConfig({ address: '127.0.0.1\nskip-grant-tables', port: 3306, paths }), /address/);
    assert.throws(() => renderMariadbConfig({ address: '127.0.0.1', port: 3306, paths: { ...paths, dataDir: '/srv/n d' } }), /paths\.dataDir/);
  });
});
