/**
 * A Hugging Face Hub stand-in on 127.0.0.1 that speaks the subset of the hub API `@huggingface/hub`
 * uses to create a model repository and commit files (preupload, LFS batch with basic transfer,
 * LFS PUT, ndjson commit), and serves committed files under /<repo>/resolve/<rev>/<path>.
 * It records every request, so tests can check where the token went.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface RecordedRequest {
  method: string;
  url: string;
  authorization?: string;
  body: Buffer;
}

export interface FakeHub {
  url: string;
  /** Committed files per repository ("user/name" → path → bytes). */
  repos: Map<string, Map<string, Buffer>>;
  requests: RecordedRequest[];
  /** Tokens the server accepts for writing. */
  tokens: Set<string>;
  close(): Promise<void>;
}

const read = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

export async function startFakeHub(tokens: string[]): Promise<FakeHub> {
  const repos = new Map<string, Map<string, Buffer>>();
  const lfs = new Map<string, Buffer>();
  const requests: RecordedRequest[] = [];
  const accepted = new Set(tokens);
  let commits = 0;
  let base = '';
  // Every response closes its connection: a client never reuses a socket the server is about to drop.
  const server: Server = createServer(async (req, res) => {
    const body = await read(req);
    const url = req.url ?? '/';
    requests.push({ method: req.method ?? '', url, authorization: req.headers.authorization, body });
    const json = (status: number, value: unknown) => {
      res.writeHead(status, {
        'content-type': 'application/json',
        'access-control-allow-origin': '*',
        connection: 'close',
      });
      res.end(JSON.stringify(value));
    };
    const writer = () => accepted.has((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    let m: RegExpMatchArray | null;
    if (req.method === 'POST' && url === '/api/repos/create') {
      if (!writer()) return json(401, { error: 'Invalid credentials in Authorization header' });
      const { name, organization } = JSON.parse(body.toString()) as { name: string; organization: string };
      const repo = `${organization}/${name}`;
      if (repos.has(repo)) return json(409, { error: 'You already created this model repo' });
      repos.set(repo, new Map());
      return json(200, { url: `${base}/${repo}` });
    }
    if (req.method === 'POST' && /^\/api\/models\/[^/]+\/[^/]+\/preupload\//.test(url)) {
      if (!writer()) return json(401, { error: 'Invalid credentials' });
      const { files } = JSON.parse(body.toString()) as { files: { path: string }[] };
      return json(200, {
        files: files.map((f) => ({ path: f.path, uploadMode: f.path.endsWith('.safetensors') ? 'lfs' : 'regular' })),
      });
    }
    if (req.method === 'POST' && /^\/[^/]+\/[^/]+\.git\/info\/lfs\/objects\/batch$/.test(url)) {
      if (!writer()) return json(401, { message: 'Invalid credentials' });
      const { objects } = JSON.parse(body.toString()) as { objects: { oid: string; size: number }[] };
      return json(200, {
        transfer: 'basic',
        objects: objects.map((o) => ({
          oid: o.oid,
          size: o.size,
          actions: { upload: { href: `${base}/lfs-upload/${o.oid}` } },
        })),
      });
    }
    if (req.method === 'PUT' && (m = url.match(/^\/lfs-upload\/([0-9a-f]{64})$/))) {
      if (createHash('sha256').update(body).digest('hex') !== m[1]) return json(400, { error: 'sha256 mismatch' });
      lfs.set(m[1], body);
      res.writeHead(200, { connection: 'close' });
      return res.end();
    }
    if (req.method === 'POST' && (m = url.match(/^\/api\/models\/([^/]+\/[^/]+)\/commit\/([^/?]+)/))) {
      if (!writer()) return json(401, { error: 'Invalid credentials' });
      const files = repos.get(m[1]);
      if (!files) return json(404, { error: 'Repository not found' });
      for (const line of body.toString().split('\n').filter(Boolean)) {
        const op = JSON.parse(line) as { key: string; value: { path: string; content?: string; oid?: string } };
        if (op.key === 'file') files.set(op.value.path, Buffer.from(op.value.content ?? '', 'base64'));
        if (op.key === 'lfsFile') {
          const blob = lfs.get(op.value.oid ?? '');
          if (!blob) return json(400, { error: `LFS object ${op.value.oid} was never uploaded` });
          files.set(op.value.path, blob);
        }
      }
      commits++;
      const commitOid = createHash('sha1').update(`commit ${commits}`).digest('hex');
      return json(200, { commitOid, commitUrl: `${base}/${m[1]}/commit/${commitOid}` });
    }
    if (req.method === 'GET' && (m = url.match(/^\/([^/]+\/[^/]+)\/resolve\/[^/]+\/(.+)$/))) {
      const file = repos.get(m[1])?.get(decodeURIComponent(m[2]));
      if (!file) return json(404, { error: 'Entry not found' });
      res.writeHead(200, { 'content-length': file.length, 'access-control-allow-origin': '*', connection: 'close' });
      return res.end(file);
    }
    json(404, { error: `no route ${req.method} ${url}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    repos,
    requests,
    tokens: accepted,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
