// The webhook tests' receiver: a local HTTP server that keeps every POST (path, content type, JSON
// body), listening on the lab's side of a host's network (its .1), which the host reaches.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HookPost {
  url: string;
  type: string;
  body: Record<string, unknown>;
}

export interface HookServer {
  /** http://GATEWAY:PORT, without a path: a test adds its own (/hook?x=1). */
  readonly base: string;
  /** Every POST so far, in the order they came. */
  readonly posts: HookPost[];
  /** The JSON bodies of posts. */
  bodies(): Record<string, unknown>[];
  close(): void;
}

/** A counting webhook server that HOST_IP (a lab host's address) reaches; answers 200 to each POST. */
export async function startHookServer(hostIp: string): Promise<HookServer> {
  const posts: HookPost[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      posts.push({ url: req.url ?? '', type: req.headers['content-type'] ?? '', body: JSON.parse(data) as Record<string, unknown> });
      res.end('ok');
    });
  });
  const gateway = hostIp.replace(/\.\d+$/, '.1');
  await new Promise<void>((r) => server.listen(0, gateway, r));
  return {
    base: `http://${gateway}:${(server.address() as AddressInfo).port}`,
    posts,
    bodies: () => posts.map((p) => p.body),
    close: () => {
      server.close();
    },
  };
}
