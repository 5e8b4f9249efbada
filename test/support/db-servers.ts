// Throwaway database servers for the source tests (issue 12): one MariaDB and/or one PostgreSQL per
// test file, in a temp data dir, on 127.0.0.1 and a free port, stopped (and deleted) in afterAll.
// The binaries come from Debian's mariadb-server and postgresql packages (.ci/run installs them);
// with CI=true a missing one fails (requirePeer), elsewhere its suites are skipped.
//
//   const mysqlMode = requirePeer('mariadb', mariadbAvailable);
//   const db = useMariaDb();            // db.server.admin(sql), db.server.port, …
//   describe.skipIf(mysqlMode === 'skip')('…', () => { … });
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { executable, freePort } from '../../src/dev/loopback.ts';

const MARIADBD = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld'].find(executable);
const MARIADB_INSTALL_DB = ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'].find(executable);
const PG_BIN = (() => {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => executable(path.join(base, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(base, versions[0], 'bin') : undefined;
})();

export const mariadbAvailable = MARIADBD !== undefined && MARIADB_INSTALL_DB !== undefined;
export const postgresAvailable = PG_BIN !== undefined;

const isRoot = process.getuid?.() === 0;

async function waitFor(what: string, child: ChildProcess, output: () => string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before answering: ${output()}`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not answer within 60 s: ${output()}`);
}

export interface DbServer {
  kind: 'mysql' | 'postgres';
  host: '127.0.0.1';
  port: number;
  /** An account that may do anything (creates users, tables, grants). */
  adminUser: string;
  adminPassword: string;
  database: string;
  /** Runs statements as the admin and returns the rows of the last one. */
  admin(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** `mysql://user@127.0.0.1:port/db` (no password: lakelet takes it from an env var or file). */
  url(user?: string, database?: string): string;
  stop(): Promise<void>;
}

/** A MariaDB in a temp data dir; the server's time zone is +02:00 so that TIMESTAMP vs DATETIME shows. */
export async function startMariaDb(): Promise<DbServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lakelet-mariadb-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  const install = spawnSync(MARIADB_INSTALL_DB!, ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve', ...(isRoot ? ['--user=root'] : [])], { encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr || install.stdout}`);
  const port = await freePort();
  const child = spawn(
    MARIADBD!,
    [
      '--no-defaults', `--datadir=${data}`, `--socket=${socket}`, `--port=${port}`, '--bind-address=127.0.0.1', '--skip-name-resolve',
      `--pid-file=${path.join(dir, 'mysqld.pid')}`, '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=8M', '--skip-log-bin',
      '--default-time-zone=+02:00', '--character-set-server=utf8mb4', '--collation-server=utf8mb4_unicode_ci', ...(isRoot ? ['--user=root'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-3000)));
  child.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-3000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const connectAdmin = () => mysql.createConnection({ socketPath: socket, user: 'root', password: '', multipleStatements: true });
  await waitFor('mariadbd', child, () => out, async () => {
    if (!existsSync(socket)) return false;
    const c = await connectAdmin();
    await c.end();
    return true;
  });
  const admin = await connectAdmin();
  await admin.query("CREATE DATABASE lakelet_test CHARACTER SET utf8mb4; CREATE USER 'admin'@'%' IDENTIFIED BY 'admin-pw'; GRANT ALL ON *.* TO 'admin'@'%' WITH GRANT OPTION;");
  await admin.changeUser({ database: 'lakelet_test' });
  return {
    kind: 'mysql',
    host: '127.0.0.1',
    port,
    adminUser: 'admin',
    adminPassword: 'admin-pw',
    database: 'lakelet_test',
    async admin(sql, params) {
      const [rows] = await admin.query(sql, params);
      const list = Array.isArray(rows) ? rows : [];
      // A multi-statement result is a list of results: the last one's rows.
      const last = list.length && Array.isArray(list[list.length - 1]) ? list[list.length - 1] : list;
      return last as Record<string, unknown>[];
    },
    url: (user = 'admin', database = 'lakelet_test') => `mysql://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    async stop() {
      await admin.end().catch(() => {});
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A PostgreSQL in a temp data dir (run as the `postgres` system user when we are root: it refuses root). */
export async function startPostgres(): Promise<DbServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lakelet-postgres-'));
  const data = path.join(dir, 'data');
  const asOwner = (bin: string, args: string[]): [string, string[]] => (isRoot ? ['runuser', ['-u', 'postgres', '--', path.join(PG_BIN!, bin), ...args]] : [path.join(PG_BIN!, bin), args]);
  if (isRoot) chownSync(dir, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()), Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()));
  const [initCmd, initArgs] = asOwner('initdb', ['-D', data, '-U', 'admin', '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const [cmd, args] = asOwner('postgres', ['-D', data, '-k', dir, '-h', '127.0.0.1', '-p', String(port), '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'TimeZone=Europe/Berlin', '-c', 'shared_buffers=16MB']);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-3000)));
  child.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-3000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const connectAdmin = async (database: string) => {
    const c = new pg.Client({ host: dir, port, user: 'admin', database });
    await c.connect();
    return c;
  };
  await waitFor('postgres', child, () => out, async () => {
    const c = await connectAdmin('postgres');
    await c.end();
    return true;
  });
  const boot = await connectAdmin('postgres');
  await boot.query("ALTER USER admin PASSWORD 'admin-pw'");
  await boot.query('CREATE DATABASE lakelet_test');
  await boot.end();
  const admin = await connectAdmin('lakelet_test');
  return {
    kind: 'postgres',
    host: '127.0.0.1',
    port,
    adminUser: 'admin',
    adminPassword: 'admin-pw',
    database: 'lakelet_test',
    async admin(sql, params) {
      const r = await admin.query(sql, params as unknown[] | undefined);
      const last = Array.isArray(r) ? r[r.length - 1] : r;
      return last.rows as Record<string, unknown>[];
    },
    url: (user = 'admin', database = 'lakelet_test') => `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    async stop() {
      await admin.end().catch(() => {});
      if (child.exitCode === null && child.signalCode === null) {
        // runuser does not always pass signals on: stop the postmaster itself (its pid is in the data dir).
        const pidFile = path.join(data, 'postmaster.pid');
        const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : undefined;
        if (pid) process.kill(pid, 'SIGINT');
        else child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function useServer(available: boolean, start: () => Promise<DbServer>, name: string): { readonly server: DbServer } {
  let current: DbServer | undefined;
  beforeAll(async () => {
    if (!available) return;
    current = await start();
  }, 90_000);
  afterAll(async () => {
    await current?.stop();
  }, 60_000);
  return {
    get server(): DbServer {
      if (!current) throw new Error(`${name} is not running (see test/support/db-servers.ts)`);
      return current;
    },
  };
}

/** One MariaDB for the whole test file. */
export const useMariaDb = () => useServer(mariadbAvailable, startMariaDb, 'mariadb');
/** One PostgreSQL for the whole test file. */
export const usePostgres = () => useServer(postgresAvailable, startPostgres, 'postgres');
