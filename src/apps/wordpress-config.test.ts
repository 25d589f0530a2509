import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderWordpressConfig, repointDatabaseHost } from './wordpress-config.ts';

describe('repointDatabaseHost', () => {
  const config = renderWordpressConfig({ databaseName: 'alice_wp', databaseUser: 'alice_wp', databasePassword: 'abc123', databaseHost: '127.0.10.4', secrets: Array.from({ length: 8 }, (_, i) => `secret${i}`) });

  it('moves DB_HOST from the old database node to the new one, and nothing else', () => {
    const moved = repointDatabaseHost(config, '127.0.10.4', '127.0.20.1');
    assert.ok(moved);
    assert.match(moved, /^define\('DB_HOST', '127\.0\.20\.1:3306'\);$/m);
    assert.equal(moved.replace('127.0.20.1', '127.0.10.4'), config);
  });

  it('leaves a wp-config.php alone that names another host (the owner pointed it elsewhere), and refuses unsafe hosts', () => {
    assert.equal(repointDatabaseHost(config, '127.0.10.9', '127.0.20.1'), null);
    assert.throws(() => repointDatabaseHost(config, '127.0.10.4', "x'); evil();//"), /to/);
  });
});
