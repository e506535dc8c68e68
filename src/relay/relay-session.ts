/** What the one session registry holds: 2025 client sessions and 2026-07-28 backends. */
import type { ModernBackend } from './modern/backend.js';
import type { Session } from './session.js';

export type RelaySession = Session | ModernBackend;
