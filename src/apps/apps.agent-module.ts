/**
 * Applications on a web node: the WordPress files of Debian's package copied into a site's
 * document root, with its own wp-config.php, owned by the account (its PHP pool's user).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentModule } from '../agent/agent-module.ts';
import { requireDaemon } from '../agent/require-daemon.ts';
import { ConflictError } from '../core/errors.ts';
import { run } from '../core/exec.ts';
import { writeFileAtomic } from '../core/files.ts';
import { assertValid, checkDomain, checkUsername } from '../core/grammar.ts';
import { PHP_DAEMON, type PhpPoolsDriver } from '../php/php-pools.driver.ts';
import { WordpressDatabaseHostRequest, WordpressInstallParams, WordpressInstallRequest, type WordpressInstallResult } from '../protocol/apps.ts';
import { renderWordpressConfig, repointDatabaseHost, WORDPRESS_PACKAGE_DIR } from './wordpress-config.ts';

/** The placeholder page the web module writes into a new site; anything else means the site has content. */
const PLACEHOLDER = ['index.html'];

export const appsAgentModule: AgentModule = {
  name: 'apps',
  role: 'web',
  register(app, ctx) {
    app.put(
      '/v1/apps/wordpress/:account/:domain',
      { schema: { params: WordpressInstallParams, body: WordpressInstallRequest } },
      async (request): Promise<WordpressInstallResult> => {
        const account = assertValid('account', request.params.account, checkUsername);
        const domain = assertValid('domain', request.params.domain, checkDomain);
        const php = requireDaemon<PhpPoolsDriver>(ctx, PHP_DAEMON, 'web');
        const documentRoot = join(php.homeOf(account), domain, 'public_html');
        if (!existsSync(documentRoot)) throw new ConflictError(`site ${domain} of ${account} is not on this node`);
        const config = renderWordpressConfig({ ...request.body, secrets: Array.from({ length: 8 }, () => randomBytes(32).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x')) });
        const present = readdirSync(documentRoot).filter((f) => !PLACEHOLDER.includes(f));
        if (present.length > 0 && !present.includes('wp-settings.php')) throw new ConflictError(`site ${domain} already has files (${present.slice(0, 3).join(', ')}); WordPress is installed only into an empty site`);
        for (const file of PLACEHOLDER) rmSync(join(documentRoot, file), { force: true });
        // -L: Debian links some files to other packages (certificates, getID3); the site gets real copies inside its home.
        await run('cp', ['-rL', `${WORDPRESS_PACKAGE_DIR}/.`, documentRoot], { timeoutMs: 300_000 });
        writeFileAtomic(join(documentRoot, 'wp-config.php'), config, 0o640);
        await php.giveToAccount(account, documentRoot);
        return { installed: 'wordpress', documentRoot };
      },
    );
    // After an account transfer moved the site and its databases: the site reaches them at the new database node.
    app.post(
      '/v1/apps/wordpress/:account/:domain/database-host',
      { schema: { params: WordpressInstallParams, body: WordpressDatabaseHostRequest } },
      async (request): Promise<{ changed: boolean }> => {
        const account = assertValid('account', request.params.account, checkUsername);
        const domain = assertValid('domain', request.params.domain, checkDomain);
        const php = requireDaemon<PhpPoolsDriver>(ctx, PHP_DAEMON, 'web');
        const file = join(php.homeOf(account), domain, 'public_html', 'wp-config.php');
        if (!existsSync(file)) return { changed: false };
        const changed = repointDatabaseHost(readFileSync(file, 'utf8'), request.body.from, request.body.to);
        if (changed === null) return { changed: false };
        writeFileAtomic(file, changed, statSync(file).mode & 0o777);
        await php.giveToAccount(account, file);
        return { changed: true };
      },
    );
  },
};
