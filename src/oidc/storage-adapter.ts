/**
 * oidc-provider's storage on our database (SQLite or PostgreSQL), never its in-memory adapter:
 * every instance reads what any other wrote, so a code issued by one is exchanged at another.
 * Registered clients come from `oidc_clients` (clients.ts); every other model is a row of
 * `oidc_payloads`. Expired rows answer as absent and are deleted by the periodic sweep.
 *
 * `consume` is one conditional update (rule 38): when two instances exchange the same code at
 * once, exactly one wins; the loser revokes everything issued from the code's grant and the
 * token endpoint answers `invalid_grant` — the same as a replay that comes later.
 */
import { errors } from 'oidc-provider';
import type { Database } from '../storage/schema.ts';
import { findClientMetadata } from './clients.ts';

type Payload = Record<string, unknown> & { grantId?: string; uid?: string; accountId?: string; consumed?: number };

export function storageAdapter(db: Database) {
  return class DatabaseAdapter {
    constructor(readonly model: string) {}

    async upsert(id: string, payload: Payload, expiresIn: number | undefined): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are registered with `twofold oidc add-client`');
      const row = {
        payload: JSON.stringify(payload),
        grant_id: typeof payload.grantId === 'string' ? payload.grantId : null,
        uid: typeof payload.uid === 'string' ? payload.uid : null,
        account_id: typeof payload.accountId === 'string' ? payload.accountId : null,
        expires_at: expiresIn ? Date.now() + expiresIn * 1000 : null,
      };
      await db
        .insertInto('oidc_payloads')
        .values({ model: this.model, id, ...row, consumed_at: null })
        .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(row))
        .execute();
    }

    async find(id: string): Promise<Payload | undefined> {
      if (this.model === 'Client') return findClientMetadata(db, id);
      const row = await db.selectFrom('oidc_payloads').select(['payload', 'expires_at', 'consumed_at']).where('model', '=', this.model).where('id', '=', id).executeTakeFirst();
      return row ? fromRow(row) : undefined;
    }

    async findByUid(uid: string): Promise<Payload | undefined> {
      const row = await db.selectFrom('oidc_payloads').select(['payload', 'expires_at', 'consumed_at']).where('model', '=', this.model).where('uid', '=', uid).executeTakeFirst();
      return row ? fromRow(row) : undefined;
    }

    async findByUserCode(): Promise<undefined> {
      return undefined; // the device flow is not offered
    }

    async consume(id: string): Promise<void> {
      const consumed = await db
        .updateTable('oidc_payloads')
        .set({ consumed_at: Date.now() })
        .where('model', '=', this.model)
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .returning('grant_id')
        .executeTakeFirst();
      if (consumed) return;
      // Another request consumed it first: a replay in a race. Revoke what it issued (rule 38).
      const row = await db.selectFrom('oidc_payloads').select('grant_id').where('model', '=', this.model).where('id', '=', id).executeTakeFirst();
      if (row?.grant_id) await revokeGrant(db, row.grant_id);
      throw new errors.InvalidGrant('grant already consumed');
    }

    async destroy(id: string): Promise<void> {
      await db.deleteFrom('oidc_payloads').where('model', '=', this.model).where('id', '=', id).execute();
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await revokeGrant(db, grantId);
    }
  };
}

async function revokeGrant(db: Database, grantId: string): Promise<void> {
  await db.deleteFrom('oidc_payloads').where('grant_id', '=', grantId).execute();
  await db.deleteFrom('oidc_payloads').where('model', '=', 'Grant').where('id', '=', grantId).execute();
}

function fromRow(row: { payload: string; expires_at: number | null; consumed_at: number | null }): Payload | undefined {
  if (row.expires_at !== null && Number(row.expires_at) <= Date.now()) return undefined;
  const payload = JSON.parse(row.payload) as Payload;
  if (row.consumed_at !== null) payload.consumed = Math.floor(Number(row.consumed_at) / 1000);
  return payload;
}
