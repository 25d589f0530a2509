import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderPhpPool } from './php-fpm-config.ts';
import { validatePhpSettings } from './php-settings.ts';

describe('renderPhpPool', () => {
  const pool = renderPhpPool({ account: 'alice', user: 'fpabc123-alice', home: '/srv/n/www/alice', socket: '/srv/n/run/php/alice.sock', listenOwner: 'www-data' });
  it('runs as the account\'s user, confined to its home', () => {
    assert.match(pool, /^\[alice\]$/m);
    assert.match(pool, /^user = fpabc123-alice$/m);
    assert.match(pool, /^group = fpabc123-alice$/m);
    assert.match(pool, /^php_admin_value\[open_basedir\] = \/srv\/n\/www\/alice\/$/m);
    assert.match(pool, /^listen = \/srv\/n\/run\/php\/alice\.sock$/m);
    assert.match(pool, /^listen\.owner = www-data$/m);
    assert.match(pool, /^php_admin_value\[disable_functions\] = .*proc_open/m);
  });
  it('refuses unsafe values', () => {
    assert.throws(() => renderPhpPool({ account: 'alice]\n[x', user: 'u', home: '/h', socket: '/s' }), /account/);
    assert.throws(() => renderPhpPool({ account: 'alice', user: 'u', home: '/h\nphp_admin_value[open_basedir]=/', socket: '/s' }), /home/);
  });
});

describe('PHP site settings', () => {
  const limits = { memoryLimitMb: 256, uploadMaxMb: 64, maxExecutionSeconds: 60 };
  it('holds each setting to its bounds and to the plan', () => {
    assert.deepEqual(validatePhpSettings('php', { memoryLimitMb: 128, uploadMaxMb: 16, maxExecutionSeconds: 30 }, limits), { memoryLimitMb: 128, uploadMaxMb: 16, maxExecutionSeconds: 30 });
    assert.throws(() => validatePhpSettings('php', { memoryLimitMb: 512, uploadMaxMb: 16, maxExecutionSeconds: 30 }, limits), /php\.memoryLimitMb: must be at most 256/);
    assert.throws(() => validatePhpSettings('php', { memoryLimitMb: '128M', uploadMaxMb: 16, maxExecutionSeconds: 30 }), /php\.memoryLimitMb/);
  });
});
