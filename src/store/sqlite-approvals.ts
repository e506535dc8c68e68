/**
 * Approvals in the SQLite store (table approvals, migration 6). Every change is one conditional
 * UPDATE, so two callers (or two processes sharing the file) racing for the same approval cannot
 * both win: a decision needs status 'pending', a use needs 'approved' and no used_at.
 */
import type Database from 'better-sqlite3';
import { type ApprovalRow, bindingParams, toApproval } from './rows.js';
import type { ApprovalStore } from './store.js';

const BOUND = `principal_id = @principalId AND upstream = @upstream AND tool = @tool
  AND arguments_hash = @argumentsHash AND policy_version = @policyVersion`;

export function sqliteApprovalStore(db: Database.Database): ApprovalStore {
  const insert = db.prepare(
    `INSERT INTO approvals (id, principal_id, principal_name, upstream, tool, arguments_hash, arguments_shown,
       policy_version, status, created_at, expires_at, decided_at, decided_by, used_at)
     VALUES (@id, @principalId, @principalName, @upstream, @tool, @argumentsHash, @argumentsShown,
       @policyVersion, @status, @createdAt, @expiresAt, @decidedAt, @decidedBy, @usedAt)`,
  );
  const byId = db.prepare<[string], ApprovalRow>('SELECT * FROM approvals WHERE id = ?');
  const open = db.prepare<Record<string, unknown>, ApprovalRow>(
    `SELECT * FROM approvals WHERE ${BOUND} AND expires_at > @now
       AND (status = 'pending' OR (status = 'approved' AND used_at IS NULL))
     ORDER BY created_at DESC LIMIT 1`,
  );
  const all = db.prepare<[], ApprovalRow>('SELECT * FROM approvals ORDER BY created_at DESC');
  const ofStatus = db.prepare<[string], ApprovalRow>(
    'SELECT * FROM approvals WHERE status = ? ORDER BY created_at DESC',
  );
  const decide = db.prepare(
    `UPDATE approvals SET status = @decision, decided_at = @at, decided_by = @by, expires_at = @usableUntil
     WHERE id = @id AND status = 'pending' AND expires_at > @at`,
  );
  const consume = db.prepare(
    `UPDATE approvals SET used_at = @at
     WHERE id = @id AND ${BOUND} AND status = 'approved' AND used_at IS NULL AND expires_at > @at`,
  );
  const expire = db.prepare<[number], ApprovalRow>(
    `UPDATE approvals SET status = 'expired'
     WHERE expires_at <= ? AND (status = 'pending' OR (status = 'approved' AND used_at IS NULL))
     RETURNING *`,
  );
  return {
    async create(record) {
      insert.run(record);
    },
    async get(id) {
      const row = byId.get(id);
      return row ? toApproval(row) : undefined;
    },
    async findOpen(binding, now) {
      const row = open.get({ ...bindingParams(binding), now });
      return row ? toApproval(row) : undefined;
    },
    async list(status) {
      return (status === undefined ? all.all() : ofStatus.all(status)).map(toApproval);
    },
    async decide(id, decision, by, at, usableUntil) {
      return decide.run({ id, decision, by, at, usableUntil }).changes === 1;
    },
    async consume(id, binding, at) {
      return consume.run({ id, ...bindingParams(binding), at }).changes === 1;
    },
    async expire(now) {
      return expire.all(now).map(toApproval);
    },
  };
}
