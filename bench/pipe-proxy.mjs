// The floor of one HTTP hop in Node, for the bench: every request is piped to the upstream over a
// keep-alive agent and its answer piped back, with nothing checked, parsed or logged.
// Usage: node bench/pipe-proxy.mjs <upstream port> <listen port>
import { Agent, createServer, request } from 'node:http';

const [upstreamPort, port] = process.argv.slice(2).map(Number);
const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

createServer((req, res) => {
  const upstream = request(
    { host: '127.0.0.1', port: upstreamPort, path: req.url, method: req.method, headers: req.headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  // A client that leaves (an SSE stream closed) ends the upstream request too; a finished one is left
  // alone, its socket back in the agent.
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}).listen(port, '127.0.0.1');
