/**
 * Roles: what a node is for. The parent assigns them and the agent starts the daemons and installs
 * the Debian packages of its roles, so both read them from here.
 */
import { Type, type Static } from '@sinclair/typebox';

export const ROLES = ['mail', 'web', 'dns', 'database'] as const;
export type Role = (typeof ROLES)[number];

export const RoleSchema = Type.Union(ROLES.map((role) => Type.Literal(role)));

/** PUT /v1/roles: the node's whole set of roles. */
export const RolesRequest = Type.Object({ roles: Type.Array(RoleSchema) });
export type RolesRequest = Static<typeof RolesRequest>;

/** Debian packages each role needs on a node (software synchronisation installs the missing ones). */
export const ROLE_PACKAGES: Record<Role, readonly string[]> = {
  // php-fpm before roundcube-core: given in one apt-get call, it satisfies the `php` dependency
  // that would otherwise pull in Apache's PHP module.
  mail: ['dovecot-imapd', 'dovecot-pop3d', 'dovecot-lmtpd', 'postfix', 'php-fpm', 'roundcube-core', 'roundcube-sqlite3'],
  // systemd for systemd-sysusers: a batch of new sites creates its PHP users in one call.
  web: ['nginx', 'php8.2-fpm', 'php8.2-mysql', 'wordpress', 'systemd'],
  dns: ['pdns-server', 'pdns-backend-sqlite3'],
  database: ['mariadb-server'],
};
