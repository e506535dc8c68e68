/**
 * Reads one secret line from stdin: typed at a terminal without echo, or piped
 * (`printf %s "$PW" | portcullis users hash-password`). A secret never comes from argv, where it
 * would show in `ps` and shell history.
 */
import { createInterface } from 'node:readline';

export async function readSecretFromStdin(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  process.stderr.write(prompt);
  const rl = createInterface({ input: process.stdin, terminal: true });
  // Suppress echo: readline writes typed characters through _writeToOutput.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  const line = await new Promise<string>((resolve) => rl.once('line', resolve));
  rl.close();
  process.stderr.write('\n');
  return line;
}
