// Benchmark peer: panva's oidc-provider (OpenID certified) configured to mirror Portico's
// setup, so that one load generator can run the same workloads against both servers.
// See README.md for what is configured and every way it differs from Portico.
//
//   PORT=8091 ISSUER=http://127.0.0.1:8091 NODE_ENV=production node server.mjs
//
// Prints exactly one line, `ready`, on stdout once it listens on 127.0.0.1:PORT.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';

import { postgresAdapter } from './postgres-adapter.mjs';

const PORT = Number.parseInt(process.env.PORT ?? '', 10);
if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) {
  console.error('set PORT to the TCP port to listen on (127.0.0.1:PORT)');
  process.exit(2);
}
const ISSUER = process.env.ISSUER || `http://127.0.0.1:${PORT}`;
if (new URL(ISSUER).pathname !== '/') {
  // The interaction shortcut below matches `/interaction/:uid` at the root.
  console.error('ISSUER must have no path component (e.g. http://127.0.0.1:PORT)');
  process.exit(2);
}

// `opaque` (default): authorization-code and refresh-grant access tokens are opaque and
// usable at /me, as the userinfo workload needs. `jwt`: they are ES256 JWTs for
// https://api.example.gov like Portico's, but oidc-provider then refuses them at /me
// (a token with an audience is not a userinfo token there). See README.md.
const CODE_AT_FORMAT = process.env.CODE_ACCESS_TOKEN_FORMAT || 'opaque';
if (!['opaque', 'jwt'].includes(CODE_AT_FORMAT)) {
  console.error('CODE_ACCESS_TOKEN_FORMAT must be "opaque" or "jwt"');
  process.exit(2);
}
const CODE_AT_JWT = CODE_AT_FORMAT === 'jwt';

const API = 'https://api.example.gov';
const RP = 'bench-rp';
const CC = 'bench-cc';
const ACCOUNT = 'bench';
const ACR = 'urn:portico:loa:2'; // Portico's default level of assurance for passwords
// Every OpenID Connect scope the rp client may get, and the claims they release.
const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
const CLAIMS = {
  acr: null,
  amr: null,
  sid: null,
  auth_time: null,
  iss: null,
  // acr and amr under `openid` so that ID tokens carry them, as Portico's do (UserInfo
  // does not: the account's claims have neither).
  openid: ['sub', 'acr', 'amr'],
  profile: ['name', 'given_name', 'family_name'],
  email: ['email', 'email_verified'],
};
const ALL_CLAIMS = [...new Set(Object.entries(CLAIMS).flatMap(([k, v]) => (v ? v : [k])))];

// The one signing key: ES256 (P-256), made at start, never written anywhere.
const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'ES256' };
// RFC 7638 thumbprint, the `kid` oidc-provider would compute itself.
const signingKid = crypto.createHash('sha256')
  .update(JSON.stringify({ crv: signingJwk.crv, kty: signingJwk.kty, x: signingJwk.x, y: signingJwk.y }))
  .digest('base64url');
signingJwk.kid = signingKid;

const ACCESS_TOKEN_TTL = 600;

const epoch = () => Math.floor(Date.now() / 1000);

// In-memory store, unbounded, with expiry. oidc-provider's bundled MemoryAdapter is an LRU
// of 1000 entries (and warns that it is for development): under benchmark load it would
// evict live sessions, codes and refresh tokens. This one keeps everything until it
// expires and sweeps expired entries once a minute (as Portico's janitor does).
const store = new Map(); // key -> { payload, exp (epoch s) }
const sessionByUid = new Map(); // uid -> session id
const byGrant = new Map(); // grantId -> Set of keys

// JWT access tokens. oidc-provider does not store JWT-format access tokens (only their
// signature vouches for them), so out of the box it answers `active: false` when one is
// introspected and cannot revoke one. Portico's JWT access tokens are stateless too, and
// its introspection and revocation work by verifying the signature and keeping a deny
// list of revoked `jti`s. The adapter does the same: looking a JWT up verifies its ES256
// signature with the one key and checks `iss`, expiry and the deny list, then answers
// the token's claims as the stored payload oidc-provider expects. A client_credentials
// token (sub = client_id) is found by the ClientCredentials model, a person's access
// token (CODE_ACCESS_TOKEN_FORMAT=jwt) by the AccessToken model.
const denied = new Map(); // jti -> epoch s until which it is remembered
const verified = new Map(); // small cache: JWT -> claims | null (one introspection looks it up under up to 3 models)
const JWT_MODELS = new Set(['AccessToken', 'ClientCredentials']);

function verifiedClaims(jwt) {
  if (verified.has(jwt)) return verified.get(jwt);
  let claims = null;
  try {
    const [h, p, s, extra] = jwt.split('.');
    if (extra === undefined && s) {
      const header = JSON.parse(Buffer.from(h, 'base64url'));
      const good = header.alg === 'ES256' && header.typ === 'at+jwt' && header.kid === signingKid
        && crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
      if (good) {
        const payload = JSON.parse(Buffer.from(p, 'base64url'));
        if (payload.iss === ISSUER && typeof payload.jti === 'string') claims = payload;
      }
    }
  } catch {
    claims = null;
  }
  if (verified.size >= 1024) verified.delete(verified.keys().next().value);
  verified.set(jwt, claims);
  return claims;
}

// `isDenied(jti)`: the deny list of the store in use (a Map here, a table on PostgreSQL).
async function jwtAsStored(model, jwt, isDenied) {
  const c = verifiedClaims(jwt);
  if (!c || c.exp <= epoch() || await isDenied(c.jti)) return undefined;
  const isClient = c.sub === c.client_id;
  if ((model === 'ClientCredentials') !== isClient) return undefined;
  return {
    iat: c.iat,
    exp: c.exp,
    jti: c.jti,
    kind: model,
    clientId: c.client_id,
    aud: c.aud,
    scope: c.scope,
    ...(isClient ? {} : { accountId: c.sub }),
  };
}

class BenchAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const exp = expiresIn ? epoch() + expiresIn : Infinity;
    store.set(key, { payload, exp });
    if (this.model === 'Session' && payload.uid) {
      sessionByUid.set(payload.uid, id);
    }
    if (payload.grantId) {
      let keys = byGrant.get(payload.grantId);
      if (!keys) {
        keys = new Set();
        byGrant.set(payload.grantId, keys);
      }
      keys.add(key);
    }
  }

  async find(id) {
    if (JWT_MODELS.has(this.model) && id.includes('.')) return jwtAsStored(this.model, id, (jti) => denied.has(jti));
    const entry = store.get(this.key(id));
    if (!entry) return undefined;
    if (entry.exp <= epoch()) {
      store.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }

  async findByUid(uid) {
    const id = sessionByUid.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode() {
    return undefined; // device flow is not enabled
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = epoch();
  }

  async destroy(id) {
    const key = this.key(id);
    const entry = store.get(key);
    store.delete(key);
    if (this.model === 'Session' && entry?.payload.uid) {
      sessionByUid.delete(entry.payload.uid);
    }
    if (JWT_MODELS.has(this.model) && !entry) {
      // a revoked JWT access token: remembered until it would have expired anyway
      denied.set(id, epoch() + ACCESS_TOKEN_TTL + 60);
    }
  }

  async revokeByGrantId(grantId) {
    const keys = byGrant.get(grantId);
    if (keys) {
      for (const key of keys) store.delete(key);
      byGrant.delete(grantId);
    }
  }
}

setInterval(() => {
  const now = epoch();
  for (const [key, { payload, exp }] of store) {
    if (exp > now) continue;
    store.delete(key);
    if (payload.grantId) {
      const keys = byGrant.get(payload.grantId);
      if (keys) {
        keys.delete(key);
        if (keys.size === 0) byGrant.delete(payload.grantId);
      }
    }
    if (key.startsWith('Session:') && payload.uid && sessionByUid.get(payload.uid) === key.slice(8)) {
      sessionByUid.delete(payload.uid);
    }
  }
  for (const [jti, until] of denied) {
    if (until <= now) denied.delete(jti);
  }
}, 60_000).unref();

// DATABASE_URL: everything in PostgreSQL instead (postgres-adapter.mjs), with as many
// connections as Portico's pool has by default.
const adapter = process.env.DATABASE_URL
  ? await postgresAdapter(
    process.env.DATABASE_URL,
    { models: JWT_MODELS, asStored: jwtAsStored, denyFor: ACCESS_TOKEN_TTL + 60 },
    Number.parseInt(process.env.DATABASE_POOL || '16', 10),
  )
  : BenchAdapter;

const configuration = {
  adapter,
  jwks: { keys: [signingJwk] },

  clients: [
    {
      client_id: RP,
      client_secret: 'bench-rp-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/cb'],
      id_token_signed_response_alg: 'ES256',
      // Portico's ID tokens always carry auth_time (and sid, see includeSid below).
      require_auth_time: true,
    },
    {
      client_id: CC,
      client_secret: 'bench-cc-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api.read',
    },
  ],
  clientDefaults: {
    grant_types: ['authorization_code'],
    id_token_signed_response_alg: 'ES256',
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  // What Portico offers (client_secret_jwt is not: Portico keeps only secret hashes).
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
  responseTypes: ['code'],
  subjectTypes: ['public'],
  scopes: ['openid', 'profile', 'email', 'offline_access', 'api.read'],
  acrValues: [ACR],
  claims: CLAIMS,
  enabledJWA: {
    clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256'],
    idTokenSigningAlgValues: ['ES256'],
    userinfoSigningAlgValues: ['ES256'],
    introspectionSigningAlgValues: ['ES256'],
    authorizationSigningAlgValues: ['ES256'],
  },

  async findAccount(ctx, id) {
    return {
      accountId: id,
      claims: () => ({
        sub: id,
        name: 'Bench User',
        given_name: 'Bench',
        family_name: 'User',
        email: 'bench@example.gov',
        email_verified: true,
      }),
    };
  },

  // First-party clients: no consent screen. A Grant with every OpenID Connect scope and
  // claim (offline_access included) and the API scope is made and saved the first time a
  // signed-in account meets the client; the session remembers it for later requests.
  async loadExistingGrant(ctx) {
    const { client, session, provider } = ctx.oidc;
    const accountId = ctx.oidc.account?.accountId ?? session.accountId;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    if (grantId) {
      const grant = await provider.Grant.find(grantId);
      if (grant && grant.accountId === accountId) return grant;
    }
    if (client.clientId !== RP) return undefined;
    const grant = new provider.Grant({ clientId: client.clientId, accountId });
    grant.addOIDCScope(OIDC_SCOPES.join(' '));
    grant.addOIDCClaims(ALL_CLAIMS);
    grant.addResourceScope(API, resourceScope(client));
    await grant.save();
    return grant;
  },

  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },

  pkce: {
    methods: ['S256'],
    required: () => true,
  },

  // offline_access: oidc-provider follows OIDC Core 11 to the letter and drops
  // offline_access from any authorization request whose `prompt` lacks `consent` (and
  // prompt=consent would force a consent interaction at every request). So the requested
  // scope loses offline_access, and these two helpers look at the Grant instead, which
  // loadExistingGrant always gives offline_access: the rp gets a refresh token and its
  // tokens outlive the session, as with offline_access. See README.md.
  rotateRefreshToken: true,
  async issueRefreshToken(ctx, client, code) {
    return client.clientId === RP
      && client.grantTypeAllowed('refresh_token')
      && (code.scopes.has('offline_access') || grantHasOfflineAccess(ctx));
  },
  async expiresWithSession(ctx, code) {
    return !code.scopes.has('offline_access') && !grantHasOfflineAccess(ctx);
  },

  ttl: {
    AccessToken: ACCESS_TOKEN_TTL,
    IdToken: 600,
    AuthorizationCode: 60,
    RefreshToken: 14 * 24 * 60 * 60,
    ClientCredentials: ACCESS_TOKEN_TTL,
    // 10 h from login, not sliding: oidc-provider re-saves the session at every
    // authorization request, so a constant would extend it each time. Portico's
    // `session.lifetime` is absolute too.
    Session(ctx, session) {
      const lifetime = 10 * 60 * 60;
      if (!session.loginTs) return lifetime;
      return Math.max(1, session.loginTs + lifetime - epoch());
    },
    Interaction: 15 * 60,
    Grant: 14 * 24 * 60 * 60,
  },

  cookies: {
    names: {
      session: '_session',
      interaction: '_interaction',
      resume: '_interaction_resume',
    },
    // Fixed keys: cookies are signed (`<name>.sig` companions) as in production. SameSite
    // Lax on both kinds, as Portico's; not Secure, because the issuer is plain http.
    keys: ['R-L_nBqrQXwGUeB_FxngQFhQj6uLTEjg-Ac9P9yh_ac', 'z5pwL6AqWg2_WRSIzbws_NZJQkGffvhQ9ph-_xftzgI'],
    long: { httpOnly: true, sameSite: 'lax', signed: true },
    short: { httpOnly: true, sameSite: 'lax', signed: true },
  },

  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // As Portico: a client introspects only tokens issued to itself (Portico also lets a
      // registered resource server introspect tokens for its resource; none exists here).
      async allowedPolicy(ctx, client, token) {
        return token.clientId === client.clientId;
      },
    },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      async defaultResource(ctx, client, oneOf) {
        if (oneOf) return oneOf.includes(API) ? API : oneOf;
        return API;
      },
      async useGrantedResource() {
        return CODE_AT_JWT;
      },
      async getResourceServerInfo(ctx, resourceIndicator, client) {
        if (resourceIndicator !== API) throw new errors.InvalidTarget();
        return {
          scope: resourceScope(client),
          audience: API,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
    // Not offered by Portico.
    pushedAuthorizationRequests: { enabled: false },
    claimsParameter: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.type = 'html';
        ctx.body = `<!DOCTYPE html><title>Sign out</title>${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`;
      },
      async postLogoutSuccessSource(ctx) {
        ctx.type = 'html';
        ctx.body = '<!DOCTYPE html><title>Signed out</title><p>Signed out.</p>';
      },
    },
  },

  clientBasedCORS: () => false,

  async renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
};

function grantHasOfflineAccess(ctx) {
  const grant = ctx.oidc.entities.Grant;
  return !!grant && grant.getOIDCScope().split(' ').includes('offline_access');
}

// The API scope, plus (only with CODE_ACCESS_TOKEN_FORMAT=jwt, for the rp client) the
// OpenID Connect scopes, so that its JWT access tokens carry the same `scope` as Portico's.
function resourceScope(client) {
  if (CODE_AT_JWT && client?.clientId === RP) return ['api.read', ...OIDC_SCOPES].join(' ');
  return 'api.read';
}

const provider = new Provider(ISSUER, configuration);
provider.proxy = false;
// Portico puts `sid` in every ID token; oidc-provider only does for clients registered
// for back-channel logout with backchannel_logout_session_required.
provider.Client.prototype.includeSid = () => true;

provider.on('server_error', (ctx, err) => {
  console.error('server_error', ctx.method, ctx.path, err);
});

// Login without a form: GET /interaction/:uid finishes the interaction at once as the one
// account (a login with no password; the password workload runs against Portico only).
// Consent needs no step: loadExistingGrant above grants everything to the first-party rp.
const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)$/;
const oidc = provider.callback();

const server = http.createServer((req, res) => {
  const path = req.url.split('?', 1)[0];
  if (req.method === 'GET' && INTERACTION.test(path)) {
    provider
      .interactionFinished(
        req,
        res,
        // acr and amr as Portico's password source puts them in its ID tokens.
        { login: { accountId: ACCOUNT, acr: ACR, amr: ['pwd'] }, consent: {} },
        { mergeWithLastSubmission: false },
      )
      .catch((err) => {
        if (res.headersSent) return;
        const status = err instanceof errors.OIDCProviderError ? err.statusCode : 500;
        if (status >= 500) console.error('interaction error', err);
        res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: err.error || 'server_error', error_description: err.error_description }));
      });
    return;
  }
  oidc(req, res);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}

server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
