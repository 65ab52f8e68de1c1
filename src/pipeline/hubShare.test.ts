import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { startFakeHub, type FakeHub } from '../../test/fakeHub';
import { decoderPreset } from '../models/decoder/config';
import { decoderParamTable } from '../models/decoder/m2fLang';
import { ParamStore } from '../models/decoder/params';
import { cardText, parseShareLink, pushModelToHub } from './hubShare';
import { buildModelBundle, type ModelBundle } from './modelBundle';

const TOKEN = 'hf_testTokenThatMustNeverBeStored0123';
let hub: FakeHub;
let bundle: ModelBundle;

beforeAll(async () => {
  await setupTestBackend();
  hub = await startFakeHub([TOKEN]);
  const config = decoderPreset('tiny');
  const store = new ParamStore(decoderParamTable(config), 11);
  const parameters = new Map([...store.vars].map(([name, v]) => [name, v.dataSync() as Float32Array]));
  store.dispose();
  bundle = await buildModelBundle({
    labVersion: '0.1.0',
    name: 'tiny demo model',
    decoder: config,
    classes: [{ id: 1, name: 'sky', synonyms: [], isthing: false }],
    clip: { model: 'demo-clip', sha256: 'a'.repeat(64) },
    stages: [{ kind: 'dewa', iterations: 4, batch: 2, cropSize: 64, learningRate: 1e-4 }],
    validation: null,
    parameters,
  });
});
afterAll(() => hub.close());

describe('push to the hub', () => {
  it('creates the repository, commits the three files and returns a link to model.json', async () => {
    const shared = await pushModelToHub(bundle, {
      repo: 'alice/tiny-dearli',
      accessToken: TOKEN,
      hubUrl: hub.url,
      labUrl: 'http://127.0.0.1:4173/#data',
    });
    const files = hub.repos.get('alice/tiny-dearli')!;
    expect([...files.keys()].sort()).toEqual(['README.md', 'model.json', 'model.safetensors']);
    expect(new Uint8Array(files.get('model.safetensors')!)).toEqual(bundle.weights);
    expect(files.get('model.json')!.toString()).toBe(cardText(bundle));
    expect(files.get('README.md')!.toString()).toBe(bundle.readme);

    const parsed = parseShareLink(new URL(shared.link).hash)!;
    expect(shared.link.startsWith('http://127.0.0.1:4173/#model=')).toBe(true);
    expect(parsed.cardUrl).toMatch(new RegExp(`^${hub.url}/alice/tiny-dearli/resolve/[0-9a-f]{40}/model.json$`));
    expect(parsed.cardSha256).toBe(shared.cardSha256);
    const served = await fetch(parsed.cardUrl);
    expect(await served.text()).toBe(cardText(bundle));
  });

  it('updates an existing repository', async () => {
    await pushModelToHub(bundle, { repo: 'alice/again', accessToken: TOKEN, hubUrl: hub.url, labUrl: 'http://lab/' });
    await expect(
      pushModelToHub(bundle, { repo: 'alice/again', accessToken: TOKEN, hubUrl: hub.url, labUrl: 'http://lab/' }),
    ).resolves.toBeTruthy();
    expect(hub.repos.get('alice/again')!.size).toBe(3);
  });

  it('sends the token only in Authorization headers, and never puts it into errors', async () => {
    for (const r of hub.requests) {
      expect(r.url).not.toContain(TOKEN);
      expect(r.body.includes(TOKEN)).toBe(false);
    }
    expect(hub.requests.filter((r) => r.authorization === `Bearer ${TOKEN}`).length).toBeGreaterThan(0);
    const wrong = 'hf_wrongTokenWrongTokenWrongToken00';
    const refused = pushModelToHub(bundle, {
      repo: 'alice/denied',
      accessToken: wrong,
      hubUrl: hub.url,
      labUrl: 'http://lab/',
    });
    await expect(refused).rejects.toThrow(/HTTP 401.*write permission/);
    await refused.catch((e: Error) => expect(JSON.stringify({ ...e, text: e.message })).not.toContain(wrong));
  });

  it('reads share links and refuses broken ones', () => {
    expect(parseShareLink('#data')).toBeNull();
    expect(() => parseShareLink('#model=not%20a%20url&sha256=' + 'a'.repeat(64))).toThrow(/not a URL/);
    expect(() => parseShareLink('#model=https%3A%2F%2Fx%2Fmodel.json&sha256=abc')).toThrow(/no valid sha256/);
    expect(() => parseShareLink('#model=file%3A%2F%2F%2Fetc%2Fpasswd&sha256=' + 'a'.repeat(64))).toThrow(/file:/);
  });
});
