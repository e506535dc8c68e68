/**
 * The suite-wide leak check's capture (scripts/run-tests.mjs sets PORTCULLIS_CAPTURE_DIR): every
 * test gateway's log lines and stored audit records, and every secret a test used, are appended to
 * files there; test/after/no-secrets.test.ts then fails if any secret appears in any line.
 * Without the variable (a single test file run by hand) nothing is captured.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const dir = process.env.PORTCULLIS_CAPTURE_DIR;

/** Records values that must never appear in a log line or an audit record. */
export function captureSecrets(...values: (string | undefined)[]): void {
  if (!dir) return;
  const lines = values.filter((v): v is string => typeof v === 'string' && v.length >= 6);
  if (lines.length > 0)
    appendFileSync(join(dir, 'secrets.jsonl'), lines.map((v) => `${JSON.stringify(v)}\n`).join(''));
}

/** Records a gateway's log lines and the audit records in its store (if it has one). */
export function captureGateway(lines: readonly string[], storeFile: string | undefined): void {
  if (!dir) return;
  const records: string[] = [];
  if (storeFile && existsSync(storeFile)) {
    const db = new Database(storeFile, { readonly: true, fileMustExist: true });
    try {
      const hasAudit = db
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_events'")
        .get();
      if (hasAudit)
        for (const row of db.prepare('SELECT json FROM audit_events').all() as { json: string }[])
          records.push(`${row.json}\n`);
    } finally {
      db.close();
    }
  }
  appendFileSync(join(dir, `gateway-${process.pid}.log`), [...lines, ...records].join(''));
}
