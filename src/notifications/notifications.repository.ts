/** All SQL about notifications and the metrics token: single settings by key, and the open alerts. */
import type { Store } from '../store/database.ts';

export interface OpenAlert {
  key: string;
  kind: string;
  subject: string;
  openedAt: number;
}

export class HealingRepository {
  constructor(private readonly db: Store) {}

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.db.selectFrom('healing_settings').select('value').where('key', '=', key).executeTakeFirst())?.value;
  }

  async setSetting(key: string, value: string | null): Promise<void> {
    await this.db.deleteFrom('healing_settings').where('key', '=', key).execute();
    if (value !== null) await this.db.insertInto('healing_settings').values({ key, value }).execute();
  }

  async openAlert(key: string): Promise<OpenAlert | undefined> {
    const row = await this.db.selectFrom('open_alerts').selectAll().where('key', '=', key).executeTakeFirst();
    return row ? { key: row.key, kind: row.kind, subject: row.subject, openedAt: Number(row.opened_at) } : undefined;
  }

  async openAlerts(kind?: string): Promise<OpenAlert[]> {
    let query = this.db.selectFrom('open_alerts').selectAll();
    if (kind !== undefined) query = query.where('kind', '=', kind);
    return (await query.orderBy('opened_at').execute()).map((row) => ({ key: row.key, kind: row.kind, subject: row.subject, openedAt: Number(row.opened_at) }));
  }

  /** True when this call opened it: two checks racing on one problem notify once. */
  async open(key: string, kind: string, subject: string, at: number): Promise<boolean> {
    if (await this.openAlert(key)) return false;
    try {
      await this.db.insertInto('open_alerts').values({ key, kind, subject, opened_at: at }).execute();
      return true;
    } catch {
      return false;
    }
  }

  /** True when this call closed it. */
  async close(key: string): Promise<boolean> {
    const result = await this.db.deleteFrom('open_alerts').where('key', '=', key).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
