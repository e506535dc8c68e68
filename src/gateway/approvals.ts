/**
 * Human approval (policy.approval), when rules are configured: the approvals service over the
 * store, the hold the call stages run, and the webhook. Keys for the input round's requestState are
 * derived from the server secret, so every instance of a fleet honours the others' rounds.
 */
import { Redactor } from '../audit/redact.js';
import type { LoadedConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { deriveKey } from '../oauth/derive-key.js';
import { policyVersion } from '../policy/approval-binding.js';
import { ApprovalHold } from '../policy/approval-hold.js';
import { ApprovalStateCodec } from '../policy/approval-state.js';
import { ApprovalWebhook } from '../policy/approval-webhook.js';
import { Approvals } from '../policy/approvals.js';
import type { Closer } from './closer.js';
import type { Services } from './services.js';

export interface GatewayApprovals {
  readonly service: Approvals;
  readonly hold: ApprovalHold;
  /** The server secret, from which the approval page derives its keys. */
  readonly secret: Buffer;
}

export function openApprovals(
  loaded: LoadedConfig,
  services: Services,
  publicUrl: URL,
  logger: Logger,
  closer: Closer,
): GatewayApprovals | undefined {
  const { config } = loaded;
  const approval = config.policy.approval;
  if (approval.rules.length === 0) return undefined;
  const keyStore = services.keyStore;
  if (!keyStore) throw new Error('policy.approval needs the store, which was not opened');
  const webhook = approval.webhook ? new ApprovalWebhook({ ...approval.webhook, logger }) : undefined;
  const service = closer.add(
    'approvals',
    new Approvals({
      config: approval,
      store: keyStore.store.approvals,
      policyVersion: policyVersion(config.policy),
      publicUrl,
      redactor: new Redactor(loaded.secrets, { pii: config.audit.redactPersonalData }),
      audit: services.auditLog,
      logger,
      ...(webhook ? { webhook } : {}),
    }),
    (a) => a.close(),
  );
  // A state outlives its request by one ttl: an approval may be used that long after the decision.
  const ttlSeconds = Math.ceil((2 * approval.ttl) / 1000);
  const states = new ApprovalStateCodec(deriveKey(keyStore.secret, 'approval-request-state'), ttlSeconds);
  return { service, hold: new ApprovalHold(service, states), secret: keyStore.secret };
}
