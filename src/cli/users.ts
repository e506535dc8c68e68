/** `portcullis users hash-password`: a scrypt hash for a Basic user, from a password on stdin. */
import type { Command } from 'commander';
import { hashPassword } from '../auth/passwords.js';
import { readSecretFromStdin } from './read-stdin.js';

export function registerUsers(program: Command): void {
  const users = program.command('users').description('Basic-auth users');
  users
    .command('hash-password')
    .description('read a password from stdin and print its hash for auth.basic.users.<name>.passwordHash')
    .action(async () => {
      const password = await readSecretFromStdin('Password: ');
      if (password.length < 12) {
        process.stderr.write(
          'portcullis: the password is shorter than 12 characters — choose a longer one\n',
        );
        process.exit(1);
      }
      process.stdout.write(`${await hashPassword(password)}\n`);
    });
}
