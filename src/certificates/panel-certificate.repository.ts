/** All SQL of the panel's own certificate (one row): what the parent's HTTPS serves and the state of its next order. */
import type { Selectable } from 'kysely';
import type { Store } from '../store/database.ts';
import type { PanelCertificateTables } from '../store/migrations/081-panel-certificate.ts';
import { certificateStateOf, servingColumns, type CertificateState, type ServingOmits } from './certificates.repository.ts';

export interface PanelCertificateRow extends CertificateState {
  hostname: string;
}

type Row = Selectable<PanelCertificateTables['panel_certificate']>;

const toRow = (r: Row): PanelCertificateRow => ({ hostname: r.hostname, ...certificateStateOf(r) });

export class PanelCertificateRepository {
  constructor(private readonly db: Store) {}

  async current(): Promise<PanelCertificateRow | undefined> {
    const row = await this.db.selectFrom('panel_certificate').selectAll().where('id', '=', 1).executeTakeFirst();
    return row && toRow(row);
  }

  /** Puts a certificate in service (the placeholder or an issued one), clearing the order state. */
  async saveServing(row: Omit<PanelCertificateRow, ServingOmits>, now: number): Promise<void> {
    const values = { hostname: row.hostname, ...servingColumns(row, now) };
    await this.db
      .insertInto('panel_certificate')
      .values({ id: 1, ...values })
      .onConflict((oc) => oc.column('id').doUpdateSet(values))
      .execute();
  }

  async setPendingKey(keyPem: string, now: number): Promise<void> {
    await this.db.updateTable('panel_certificate').set({ pending_key_pem: keyPem, updated_at: now }).where('id', '=', 1).execute();
  }

  async recordFailure(error: string, retryAt: number, now: number): Promise<void> {
    await this.db
      .updateTable('panel_certificate')
      .set((eb) => ({ last_error: error, failures: eb('failures', '+', 1), retry_at: retryAt, pending_key_pem: null, updated_at: now }))
      .where('id', '=', 1)
      .execute();
  }

  /** Asks for an order at the next pass (a forced renewal), without touching what serves. */
  async renewNow(now: number): Promise<void> {
    await this.db.updateTable('panel_certificate').set({ renew_at: now, retry_at: null, updated_at: now }).where('id', '=', 1).execute();
  }
}
