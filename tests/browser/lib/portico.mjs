// A throwaway Portico for the browser tests: the built binary, a free port on
// 127.0.0.1, a fresh SQLite database and keys in a temp dir, a low argon2 cost.
// Copied from tests/interop/lib/portico.mjs (the suites do not import each other).

import { execFile, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
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

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

/**
 * Start `portico serve` in a fresh temp dir. Returns the issuer, a `cli(args, stdin)`
 * helper using the same environment, the server's log, and `stop()`.
 *
 * The issuer is plain http on 127.0.0.1: the configuration allows http only on
 * loopback, and Chromium treats http://127.0.0.1 as a secure context, so it keeps
 * Portico's `Secure` `__Host-` cookies without TLS.
 */
export async function startPortico() {
  try {
    await access(PORTICO_BIN, constants.X_OK);
  } catch {
    throw new Error(
      `no executable Portico binary at ${PORTICO_BIN}: build it (cargo build) or set PORTICO_BIN`,
    );
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'portico-browser-'));
  const port = await freePort();
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
    p.child.stdin.end(stdin);
    const { stdout } = await p;
    return stdout;
  };

  return { issuer, dir, cli, stop, log: () => log };
}
