// Drives headless Chromium through chromedriver's W3C WebDriver API (Node's own fetch, no npm
// packages): the web page of `relist serve` and a sweep report. Prints one JSON object with
// what the browser saw; the Rust test (tests/web.rs) asserts on it.
//
// node browser.mjs page   BASE_URL UPLOAD_PHOTO [SCREENSHOT.png]
// node browser.mjs report FILE.html
//
// CHROMIUM and CHROMEDRIVER name the binaries (defaults /usr/bin/chromium, /usr/bin/chromedriver).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMEDRIVER = process.env.CHROMEDRIVER || '/usr/bin/chromedriver';
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Browser {
  static async start() {
    const port = await freePort();
    const driver = spawn(CHROMEDRIVER, [`--port=${port}`], { stdio: ['ignore', 'ignore', 'inherit'] });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        const r = await fetch(`${base}/status`);
        if ((await r.json()).value.ready) break;
      } catch (e) {
        if (i > 100) throw new Error(`chromedriver did not start: ${e}`);
      }
      await sleep(100);
    }
    const profile = mkdtempSync(join(tmpdir(), 'relist-chromium-'));
    const b = new Browser(base, driver, profile);
    const caps = {
      capabilities: {
        alwaysMatch: {
          browserName: 'chrome',
          'goog:chromeOptions': {
            binary: CHROMIUM,
            args: [
              '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
              '--disable-background-networking', '--disable-component-update', '--disable-sync',
              `--user-data-dir=${profile}`, '--window-size=1200,900',
            ],
          },
        },
      },
    };
    const s = await b.call('POST', '/session', caps);
    b.session = s.sessionId;
    return b;
  }

  constructor(base, driver, profile) {
    this.base = base;
    this.driver = driver;
    this.profile = profile;
  }

  async call(method, path, body) {
    const r = await fetch(this.base + path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const j = await r.json();
    if (!r.ok) throw new Error(`${method} ${path}: ${JSON.stringify(j.value)}`);
    return j.value;
  }

  s(path) {
    return `/session/${this.session}${path}`;
  }

  go(url) {
    return this.call('POST', this.s('/url'), { url });
  }

  async find(css) {
    const v = await this.call('POST', this.s('/element'), { using: 'css selector', value: css });
    return v[ELEMENT];
  }

  async type(css, text) {
    await this.call('POST', this.s(`/element/${await this.find(css)}/value`), { text });
  }

  async click(css) {
    await this.call('POST', this.s(`/element/${await this.find(css)}/click`), {});
  }

  js(script, ...args) {
    return this.call('POST', this.s('/execute/sync'), { script, args });
  }

  // Clicks and waits for the next page to load completely (images included).
  async submit(css) {
    await this.js('window.__before = true;');
    await this.click(css);
    for (let i = 0; i < 200; i++) {
      const done = await this.js(
        "return !window.__before && document.readyState === 'complete' && " +
          "Array.from(document.images).every(i => i.complete);",
      ).catch(() => false);
      if (done) return;
      await sleep(50);
    }
    throw new Error(`no page after clicking ${css}`);
  }

  async screenshot(path) {
    const png = await this.call('GET', this.s('/screenshot'));
    writeFileSync(path, Buffer.from(png, 'base64'));
  }

  async quit() {
    try {
      if (this.session) await this.call('DELETE', this.s(''));
    } finally {
      this.driver.kill();
      rmSync(this.profile, { recursive: true, force: true });
    }
  }
}

// What a page of result cards shows.
const CARDS = `
  const card = (a) => ({
    decision: a.dataset.decision || null, score: parseFloat(a.dataset.score),
    rank: a.dataset.rank ? parseInt(a.dataset.rank, 10) : null,
    banned_id: a.dataset.bannedId, listing_id: a.dataset.listingId,
    marks: Array.from(a.querySelectorAll('mark')).map(m => m.textContent),
    evidence: Array.from(a.querySelectorAll('ul.evidence li')).map(l => l.textContent),
    notice: (a.querySelector('a.notice') || {}).href || null,
    distance: (a.querySelector('.distance') || {}).textContent || null,
    photos: Array.from(a.querySelectorAll('.photos figure')).map(f => {
      const img = f.querySelector('img');
      return { label: f.querySelector('.label').textContent,
               loaded: img ? img.complete && img.naturalWidth > 0 : false,
               width: img ? img.naturalWidth : 0,
               caption: f.querySelector('.caption').textContent };
    }),
  });
  return {
    title: document.title,
    summary: (document.getElementById('summary') || {}).textContent || null,
    error: (document.getElementById('error') || {}).textContent || null,
    cards: Array.from(document.querySelectorAll('article.card')).map(card),
  };`;

async function page(base, upload, shot) {
  const b = await Browser.start();
  try {
    const out = {};
    await b.go(base + '/');
    out.empty = await b.js(CARDS);
    out.form = await b.js(
      "return Array.from(document.querySelectorAll('#search input')).map(i => i.name + ':' + i.type);",
    );
    // 1. Words and a model number against the banned index.
    await b.type('#text', 'portable charger');
    await b.type('#model', 'hb 2210x');
    await b.submit('#go');
    out.text = await b.js(CARDS);
    out.text.kept = await b.js("return [document.getElementById('text').value, document.getElementById('model').value];");
    // 2. A photo upload against the banned index.
    await b.go(base + '/');
    await b.type('#photo', upload);
    await b.submit('#go');
    out.photo = await b.js(CARDS);
    // 3. A banned record against the catalog: its photo beside each listing's.
    await b.go(base + '/');
    await b.type('#banned', 'TEST-KETTLE-1');
    await b.click('#target-catalog');
    await b.submit('#go');
    out.catalog = await b.js(CARDS);
    if (shot) await b.screenshot(shot);
    // 4. The same photo against the catalog.
    await b.go(base + '/');
    await b.type('#photo', upload);
    await b.click('#target-catalog');
    await b.submit('#go');
    out.catalog_photo = await b.js(CARDS);
    return out;
  } finally {
    await b.quit();
  }
}

async function report(file) {
  const b = await Browser.start();
  try {
    await b.go('file://' + file);
    const order = () => b.js("return Array.from(document.querySelectorAll('#hits article.card')).map(a => [a.dataset.listingId, parseFloat(a.dataset.score)]);");
    const table = (id) => b.js(
      `return Object.fromEntries(Array.from(document.querySelectorAll('#${id} tr')).slice(1).map(r => [r.cells[0].textContent, parseInt(r.cells[1].textContent)]));`,
    );
    const out = {
      title: await b.js('return document.title;'),
      decisions: await table('by-decision'),
      sources: await table('by-source'),
      hazards: await table('by-hazard'),
      input_order: await order(),
      images: await b.js("return Array.from(document.images).map(i => i.complete && i.naturalWidth > 0);"),
      cards: await b.js(CARDS),
    };
    await b.click('#sort-score-desc');
    out.desc = await order();
    await b.click('#sort-score-asc');
    out.asc = await order();
    await b.click('#sort-input');
    out.back = await order();
    return out;
  } finally {
    await b.quit();
  }
}

const [mode, ...rest] = process.argv.slice(2);
const run = mode === 'page' ? page(...rest) : mode === 'report' ? report(...rest) : null;
if (!run) {
  console.error('usage: browser.mjs page BASE_URL PHOTO [SHOT.png] | report FILE.html');
  process.exit(2);
}
run.then(
  (out) => console.log(JSON.stringify(out)),
  (e) => {
    console.error(`browser.mjs: ${e.stack || e}`);
    process.exit(1);
  },
);
