// Helpers for running a throwaway Portico instance and for playing the
// user agent (login and consent forms) with plain fetch and a tiny cookie jar.

import { spawn, execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

export const PORTICO_BIN = path.resolve(
  process.env.PORTICO_BIN ?? path.join(here, '..', '..', '..', 'target', 'debug', 'portico'),
);

/** A free TCP port on 127.0.0.1 (listen on port 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Start `portico serve` in a fresh temp dir. Returns an object with the
 * issuer, a `cli(args, stdin)` helper using the same environment, and `stop()`.
 * Options: `port` (default a free one), `toml` (written as the dir's portico.toml,
 * e.g. `[[sources]]` tables), `env` (more PORTICO_* variables).
 */
export async function startPortico({ port: wanted, toml, env: extraEnv = {} } = {}) {
  try {
    await access(PORTICO_BIN, constants.X_OK);
  } catch {
    throw new Error(
      `no executable Portico binary at ${PORTICO_BIN}: build it (cargo build) or set PORTICO_BIN`,
    );
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'portico-interop-'));
  const port = wanted ?? await freePort();
  if (toml !== undefined) await writeFile(path.join(dir, 'portico.toml'), toml);
  const issuer = `http://127.0.0.1:${port}`;
  // Only our PORTICO_* settings: nothing inherited (PORTICO_CONFIG etc.) may change the
  // instance, and the temp dir as cwd keeps a ./portico.toml from being picked up.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('PORTICO_')),
  );
  const env = {
    ...inherited,
    PORTICO_ISSUER: issuer,
    PORTICO_LISTEN: `127.0.0.1:${port}`,
    PORTICO_DATABASE_URL: `sqlite://${dir}/p.db`,
    PORTICO_KEYS_DIR: `${dir}/keys`,
    PORTICO_PASSWORD__MEMORY_KIB: '8192',
    PORTICO_PASSWORD__ITERATIONS: '1',
    // The tests' portals (jwks_uri, back-channel URIs) listen on loopback, which
    // Portico refuses to call for a portal by default.
    PORTICO_OUTBOUND__ALLOW_PRIVATE_ADDRESSES: 'true',
    ...extraEnv,
  };

  let log = '';
  const child = spawn(PORTICO_BIN, ['serve'], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => { exited = { code, signal }; resolve(); });
    child.on('error', (err) => { exited = { err }; resolve(); });
  });

  const stop = async () => {
    if (exited === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => { if (exited === null) child.kill('SIGKILL'); }, 5000);
      await exitPromise;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exited !== null) {
        throw new Error(`portico exited before becoming healthy: ${JSON.stringify(exited)}\n${log}`);
      }
      try {
        const res = await fetch(`${issuer}/healthz`);
        if (res.status === 200) break;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) throw new Error(`portico not healthy after 30s\n${log}`);
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const cli = async (args, stdin) => {
    const p = execFileAsync(PORTICO_BIN, args, { env, cwd: dir });
    if (stdin !== undefined) {
      p.child.stdin.end(stdin);
    } else {
      p.child.stdin.end();
    }
    const { stdout } = await p;
    return stdout;
  };

  return { issuer, dir, cli, stop, log: () => log };
}

// ---------------------------------------------------------------------------
// A minimal user agent: one cookie jar for one origin, manual redirects.

export class Browser {
  constructor() {
    /** @type {Map<string, string>} cookie name -> value */
    this.cookies = new Map();
    /** raw Set-Cookie headers seen, for assertions */
    this.setCookieHeaders = [];
  }

  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  absorb(res) {
    for (const sc of res.headers.getSetCookie()) {
      this.setCookieHeaders.push(sc);
      const [pair, ...attrs] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const maxAge = attrs.map((a) => a.trim()).find((a) => /^max-age=/i.test(a));
      const expires = attrs.map((a) => a.trim()).find((a) => /^expires=/i.test(a));
      const expired = (maxAge && Number(maxAge.split('=')[1]) <= 0)
        || (expires && Date.parse(expires.slice(8)) < Date.now());
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(url, init = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', this.cookieHeader());
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.absorb(res);
    return res;
  }

  get(url) {
    return this.request(url);
  }

  postForm(url, fields) {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

function decodeEntities(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Parse the first <form> (optionally the first one with action=`action`) and its named inputs. */
export function parseForm(html, action) {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
  const pick = forms.find((m) => !action || new RegExp(`action="${action}"`).test(m[1]));
  if (!pick) throw new Error(`no form${action ? ` with action ${action}` : ''} in page:\n${html}`);
  const attrs = pick[1];
  const method = (/method="([^"]*)"/i.exec(attrs)?.[1] ?? 'get').toLowerCase();
  const formAction = decodeEntities(/action="([^"]*)"/i.exec(attrs)?.[1] ?? '');
  const fields = {};
  for (const m of pick[2].matchAll(/<input\b([^>]*)>/gi)) {
    const name = /\bname="([^"]*)"/i.exec(m[1])?.[1];
    if (!name) continue;
    const value = /\bvalue="([^"]*)"/i.exec(m[1])?.[1] ?? '';
    fields[decodeEntities(name)] = decodeEntities(value);
  }
  return { method, action: formAction, fields };
}

/**
 * Drive the user agent from the authorization URL to the redirect back to the
 * RP: follows Portico's redirects, fills in the login form and answers the
 * consent page with `decision` ('allow' by default).
 * Returns { callbackUrl, steps } where steps lists the pages passed through.
 */
export async function authorizeInBrowser(browser, authorizationUrl, { username, password, redirectUri, decision = 'allow' }) {
  const steps = [];
  let url = new URL(authorizationUrl);
  for (let i = 0; i < 10; i++) {
    if (url.href.startsWith(redirectUri)) return { callbackUrl: url, steps };
    const res = await browser.get(url);
    steps.push(`GET ${url.pathname} -> ${res.status}`);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location'), url);
      continue;
    }
    if (res.status !== 200) {
      throw new Error(`unexpected ${res.status} at ${url}:\n${await res.text()}`);
    }
    const html = await res.text();
    let post;
    if (url.pathname === '/login') {
      const form = parseForm(html, '/login');
      post = { ...form.fields, username, password };
    } else if (url.pathname === '/consent') {
      const form = parseForm(html, '/consent');
      post = { ...form.fields, decision };
    } else {
      throw new Error(`unexpected page ${url}:\n${html}`);
    }
    const postUrl = new URL(url.pathname, url);
    const res2 = await browser.postForm(postUrl, post);
    steps.push(`POST ${url.pathname} -> ${res2.status}`);
    if (!(res2.status >= 300 && res2.status < 400)) {
      throw new Error(`POST ${url.pathname} answered ${res2.status}:\n${await res2.text()}`);
    }
    url = new URL(res2.headers.get('location'), postUrl);
  }
  throw new Error(`too many steps: ${steps.join(', ')}`);
}

/** Decode a JWS's protected header without verifying (the RP library verifies). */
export function jwtHeader(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8'));
}

/**
 * Serve a JWK Set at http://127.0.0.1:<port>/jwks (a client's `jwks_uri`). Returns
 * { uri, hits, close() }: `hits` counts the GETs, so a test can see Portico fetch it.
 * `setJwks(jwks)` changes what is served from then on.
 */
export async function serveJwks(jwks) {
  let current = JSON.stringify(jwks);
  const state = { hits: 0 };
  const server = createHttpServer((req, res) => {
    if (req.method === 'GET' && req.url === '/jwks') {
      state.hits += 1;
      res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'no-store' });
      res.end(current);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    uri: `http://127.0.0.1:${port}/jwks`,
    get hits() { return state.hits; },
    setJwks(next) { current = JSON.stringify(next); },
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
