/**
 * What parent and agent exchange to install an application into a site (routes in
 * agent-routes.ts, served by src/apps/apps.agent-module.ts).
 */
import { Type, type Static } from '@sinclair/typebox';

export const WordpressInstallParams = Type.Object({ account: Type.String({ format: 'fp-username' }), domain: Type.String({ format: 'fp-domain' }) });

/** PUT /v1/apps/wordpress/:account/:domain: the database the site's wp-config.php names. */
export const WordpressInstallRequest = Type.Object(
  {
    databaseName: Type.String({ minLength: 1, maxLength: 200 }),
    databaseUser: Type.String({ minLength: 1, maxLength: 200 }),
    databasePassword: Type.String({ minLength: 1, maxLength: 512 }),
    databaseHost: Type.String({ format: 'fp-ipv4' }),
  },
  { additionalProperties: false },
);
export type WordpressInstallRequest = Static<typeof WordpressInstallRequest>;

export interface WordpressInstallResult {
  installed: 'wordpress';
  documentRoot: string;
}

/**
 * POST /v1/apps/wordpress/:account/:domain/database-host: the site's wp-config.php names another
 * database node (an account transfer moved its databases); changed only where it named `from`.
 */
export const WordpressDatabaseHostRequest = Type.Object({ from: Type.String({ format: 'fp-ipv4' }), to: Type.String({ format: 'fp-ipv4' }) }, { additionalProperties: false });
export type WordpressDatabaseHostRequest = Static<typeof WordpressDatabaseHostRequest>;
