// A PostgreSQL adapter for the peer, so that Portico on PostgreSQL is also measured
// against oidc-provider on PostgreSQL: the same database server, a store that survives a
// restart, one round trip per adapter call. oidc-provider ships no database adapter; this
// follows the shape of the examples in its repository (one table of JSON payloads keyed
// by model and id, with the grant id and session uid as indexed columns).
//
// Enabled by DATABASE_URL (a database of its own: the tables are created if missing).

import pg from 'pg';

const epoch = () => Math.floor(Date.now() / 1000);

const SCHEMA = `
CREATE TABLE IF NOT EXISTS oidc_payloads (
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  payload JSONB NOT NULL,
  grant_id TEXT,
  uid TEXT,
  expires_at BIGINT,
  PRIMARY KEY (model, id)
);
CREATE INDEX IF NOT EXISTS oidc_payloads_grant ON oidc_payloads (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payloads_uid ON oidc_payloads (uid) WHERE uid IS NOT NULL;
CREATE TABLE IF NOT EXISTS oidc_denied (jti TEXT PRIMARY KEY, until BIGINT NOT NULL);
`;

// Named statements: prepared once per connection, as Portico's are.
const q = {
  upsert: 'INSERT INTO oidc_payloads (model, id, payload, grant_id, uid, expires_at) VALUES ($1, $2, $3, $4, $5, $6) '
    + 'ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, '
    + 'uid = excluded.uid, expires_at = excluded.expires_at',
  find: 'SELECT payload FROM oidc_payloads WHERE model = $1 AND id = $2 AND (expires_at IS NULL OR expires_at > $3)',
  findByUid: "SELECT payload FROM oidc_payloads WHERE model = 'Session' AND uid = $1 AND (expires_at IS NULL OR expires_at > $2)",
  consume: "UPDATE oidc_payloads SET payload = payload || jsonb_build_object('consumed', $3::bigint) WHERE model = $1 AND id = $2",
  destroy: 'DELETE FROM oidc_payloads WHERE model = $1 AND id = $2',
  deny: 'INSERT INTO oidc_denied (jti, until) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING',
  denied: 'SELECT 1 FROM oidc_denied WHERE jti = $1',
  revokeGrant: 'DELETE FROM oidc_payloads WHERE grant_id = $1',
};

/**
 * The adapter class for oidc-provider's `adapter` setting. `jwt` handles the JWT access
 * tokens exactly as the in-memory adapter does (server.mjs), with the deny list in the
 * database: `jwt.models` are the models whose ids may be JWTs, `jwt.asStored(model, jwt,
 * isDenied)` verifies one, `jwt.denyFor` is how long a revoked jti is remembered.
 */
export async function postgresAdapter(url, jwt, poolSize) {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  await pool.query(SCHEMA);
  const run = (name, values) => pool.query({ name, text: q[name], values });
  const isDenied = async (jti) => (await run('denied', [jti])).rowCount > 0;

  setInterval(() => {
    const now = epoch();
    pool.query('DELETE FROM oidc_payloads WHERE expires_at <= $1', [now]).catch(() => {});
    pool.query('DELETE FROM oidc_denied WHERE until <= $1', [now]).catch(() => {});
  }, 60_000).unref();

  return class PostgresAdapter {
    constructor(model) {
      this.model = model;
    }

    async upsert(id, payload, expiresIn) {
      await run('upsert', [
        this.model,
        id,
        payload,
        payload.grantId ?? null,
        this.model === 'Session' ? payload.uid ?? null : null,
        expiresIn ? epoch() + expiresIn : null,
      ]);
    }

    async find(id) {
      if (jwt.models.has(this.model) && id.includes('.')) return jwt.asStored(this.model, id, isDenied);
      const { rows } = await run('find', [this.model, id, epoch()]);
      return rows[0]?.payload;
    }

    async findByUid(uid) {
      const { rows } = await run('findByUid', [uid, epoch()]);
      return rows[0]?.payload;
    }

    async findByUserCode() {
      return undefined; // device flow is not enabled
    }

    async consume(id) {
      await run('consume', [this.model, id, epoch()]);
    }

    async destroy(id) {
      const { rowCount } = await run('destroy', [this.model, id]);
      if (jwt.models.has(this.model) && rowCount === 0) {
        // a revoked JWT access token: remembered until it would have expired anyway
        await run('deny', [id, epoch() + jwt.denyFor]);
      }
    }

    async revokeByGrantId(grantId) {
      await run('revokeGrant', [grantId]);
    }
  };
}
