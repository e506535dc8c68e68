#!/usr/bin/env node
/** The portcullis command. Every subcommand takes --config FILE (default ./portcullis.yaml). */
import { Command } from 'commander';
import { VERSION } from '../core/version.js';
import { registerApprovals } from './approvals.js';
import { registerAudit } from './audit.js';
import { registerCheckConfig } from './check-config.js';
import { registerClients } from './clients.js';
import { registerConsents } from './consents.js';
import { registerKeys } from './keys.js';
import { registerPolicy } from './policy.js';
import { registerSessions } from './sessions.js';
import { registerStart } from './start.js';
import { registerStore } from './store.js';
import { registerTools } from './tools.js';
import { registerUsers } from './users.js';
import { registerWrap } from './wrap.js';

const program = new Command()
  .name('portcullis')
  .description('A security gateway for MCP servers')
  .version(VERSION, '-V, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode));

registerStart(program);
registerWrap(program);
registerCheckConfig(program);
registerKeys(program);
registerPolicy(program);
registerUsers(program);
registerAudit(program);
registerClients(program);
registerStore(program);
registerConsents(program);
registerSessions(program);
registerTools(program);
registerApprovals(program);

await program.parseAsync(process.argv);
