/** The metrics token, hashed: the scraper's copy is the only plain one. */
import type { Store } from '../store/database.ts';

const TOKEN_HASH = 'metrics_token_sha256';

export class MetricsRepository {
  constructor(private readonly db: Store) {}

  async tokenHash(): Promise<string | undefined> {
    return (await this.db.selectFrom('healing_settings').select('value').where('key', '=', TOKEN_HASH).executeTakeFirst())?.value;
  }

  async setTokenHash(hash: string): Promise<void> {
    await this.db.deleteFrom('healing_settings').where('key', '=', TOKEN_HASH).execute();
    await this.db.insertInto('healing_settings').values({ key: TOKEN_HASH, value: hash }).execute();
  }
}
