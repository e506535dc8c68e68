/**
 * Approvals in the PostgreSQL store (table approvals, migration 2). As on SQLite, every change is
 * one conditional UPDATE, so instances racing for one approval cannot both decide or both use it.
 */
import type { Queryable } from './postgres-pool.js';
import { type ApprovalRow, bindingParams, toApproval } from './rows.js';
import type { ApprovalBinding, ApprovalStore } from './store.js';

/** The binding's columns from $2 on ($1 is the id or the time, as each query says). */
const BOUND =
  'principal_id = $2 AND upstream = $3 AND tool = $4 AND arguments_hash = $5 AND policy_version = $6';
const bound = (b: ApprovalBinding) => {
  const p = bindingParams(b);
  return [p.principalId, p.upstream, p.tool, p.argumentsHash, p.policyVersion];
};

export function postgresApprovalStore(db: Queryable): ApprovalStore {
  return {
    async create(r) {
      await db.query(
        `INSERT INTO approvals (id, principal_id, principal_name, upstream, tool, arguments_hash, arguments_shown,
           policy_version, status, created_at, expires_at, decided_at, decided_by, used_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [
          r.id,
          r.principalId,
          r.principalName,
          r.upstream,
          r.tool,
          r.argumentsHash,
          r.argumentsShown,
          r.policyVersion,
          r.status,
          r.createdAt,
          r.expiresAt,
          r.decidedAt,
          r.decidedBy,
          r.usedAt,
        ],
      );
    },
    async get(id) {
      const { rows } = await db.query<ApprovalRow>('SELECT * FROM approvals WHERE id = $1', [id]);
      return rows[0] ? toApproval(rows[0]) : undefined;
    },
    async findOpen(binding, now) {
      const { rows } = await db.query<ApprovalRow>(
        `SELECT * FROM approvals WHERE ${BOUND} AND expires_at > $1
           AND (status = 'pending' OR (status = 'approved' AND used_at IS NULL))
         ORDER BY created_at DESC LIMIT 1`,
        [now, ...bound(binding)],
      );
      return rows[0] ? toApproval(rows[0]) : undefined;
    },
    async list(status) {
      const { rows } =
        status === undefined
          ? await db.query<ApprovalRow>('SELECT * FROM approvals ORDER BY created_at DESC')
          : await db.query<ApprovalRow>(
              'SELECT * FROM approvals WHERE status = $1 ORDER BY created_at DESC',
              [status],
            );
      return rows.map(toApproval);
    },
    async decide(id, decision, by, at, usableUntil) {
      const { rowCount } = await db.query(
        `UPDATE approvals SET status = $2, decided_at = $3, decided_by = $4, expires_at = $5
         WHERE id = $1 AND status = 'pending' AND expires_at > $3`,
        [id, decision, at, by, usableUntil],
      );
      return rowCount === 1;
    },
    async consume(id, binding, at) {
      const { rowCount } = await db.query(
        `UPDATE approvals SET used_at = $7
         WHERE id = $1 AND ${BOUND} AND status = 'approved' AND used_at IS NULL AND expires_at > $7`,
        [id, ...bound(binding), at],
      );
      return rowCount === 1;
    },
    async expire(now) {
      const { rows } = await db.query<ApprovalRow>(
        `UPDATE approvals SET status = 'expired'
         WHERE expires_at <= $1 AND (status = 'pending' OR (status = 'approved' AND used_at IS NULL))
         RETURNING *`,
        [now],
      );
      return rows.map(toApproval);
    },
  };
}
