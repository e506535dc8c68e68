// The floor of a stdio → Streamable HTTP bridge in Node, for the bench: one child per session (as
// Portcullis and supergateway --stateful run it), each POSTed message written to the child's stdin
// as one line, each request answered with the child's line of the same id as plain JSON — nothing
// checked, validated or logged, no SSE framing, no GET stream.
// Usage: node bench/stdio-pipe.mjs <listen port> <command> [args…]
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const [port, command, ...args] = process.argv.slice(2);
/** Session id → { child, waiting: Map<request id, ServerResponse> }. */
const sessions = new Map();

/** The id of one JSON-RPC message (undefined for a notification, or for a batch: the SDK sends none). */
function idOf(text) {
  try {
    return JSON.parse(text).id;
  } catch {
    return undefined;
  }
}

function open() {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  const session = { child, waiting: new Map() };
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
      // Only the id is read (every bridge needs it): the line goes back to the client as it came.
      const id = idOf(line);
      const res = id === undefined ? undefined : session.waiting.get(id);
      if (!res) continue;
      session.waiting.delete(id);
      res.writeHead(200, { 'content-type': 'application/json' }).end(line);
    }
  });
  return session;
}

createServer((req, res) => {
  if (req.method === 'GET') return res.writeHead(405).end();
  let id = req.headers['mcp-session-id'];
  if (req.method === 'DELETE') {
    sessions.get(id)?.child.kill();
    sessions.delete(id);
    return res.writeHead(200).end();
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    body += chunk;
  });
  req.on('end', () => {
    let session = sessions.get(id);
    if (!session) {
      id = randomUUID();
      session = open();
      sessions.set(id, session);
    }
    res.setHeader('mcp-session-id', id);
    const requestId = idOf(body);
    if (requestId === undefined) res.writeHead(202).end();
    else session.waiting.set(requestId, res);
    session.child.stdin.write(`${body}\n`);
  });
}).listen(Number(port), '127.0.0.1');
