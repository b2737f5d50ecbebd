/**
 * PolyvPlayer's logic with a controllable clock: tokenised URLs, refresh before expiry, on <video> error and on a
 * definition switch (keeping the position), typed errors. (The same class runs end to end in polyv-play.test.ts.)
 */
import { createInjectedAdapter, MediaKitError, PolyvErrorCode, PolyvPlayer, polyvTokenizedUrl } from 'mp-media-sdk';
import type { PolyvPlayInfo } from 'mp-media-sdk';

class FakeClock {
  t = 1_700_000_000_000;
  private timers: Array<{ id: number; at: number; fn: () => void }> = [];
  private seq = 0;
  showListeners: Array<() => void> = [];
  adapter = createInjectedAdapter({
    name: 'fake',
    now: () => this.t,
    setTimeout: (fn, ms) => {
      const id = ++this.seq;
      this.timers.push({ id, at: this.t + ms, fn });
      return id;
    },
    clearTimeout: (h) => {
      this.timers = this.timers.filter((x) => x.id !== h);
    },
    onAppShow: (fn) => {
      this.showListeners.push(fn);
      return () => (this.showListeners = this.showListeners.filter((f) => f !== fn));
    },
    warn: () => undefined,
  });
  get pending(): number {
    return this.timers.length;
  }
  nextAt(): number | undefined {
    return this.timers.length ? Math.min(...this.timers.map((x) => x.at)) : undefined;
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

const VID = 'localdev011d4d4733b2b577791651b5_l';

/** A stand-in for the AppServer route: hands out play info; tests decide tokens, expiry and failures. */
class FakeServer {
  calls: Array<{ method: string; path: string; body?: Record<string, unknown> }> = [];
  token = 'tok-1';
  ttl = 600_000;
  serverSkew = 0;
  fail: MediaKitError | undefined;
  raw: unknown;
  constructor(private clock: FakeClock) {}
  client = {
    call: async <T>(method: string, path: string, body?: Record<string, unknown>): Promise<T> => {
      this.calls.push({ method, path, body });
      await Promise.resolve();
      if (this.fail) throw this.fail;
      if (this.raw !== undefined) return this.raw as T;
      const serverNow = this.clock.t + this.serverSkew;
      const info: PolyvPlayInfo & { serverTime: number } = {
        videoId: String(body && body.videoId),
        title: 'sample',
        cover: 'http://c/x.jpg',
        duration: 6,
        definitions: [
          { label: '流畅', url: 'http://hls/u/l/v_1.m3u8' },
          { label: '高清', url: 'http://hls/u/l/v_2.m3u8?sign=abc' },
        ],
        token: this.token,
        expiredTime: serverNow + this.ttl,
        pid: `pid-${this.calls.length}`,
        serverTime: serverNow,
      };
      return info as unknown as T;
    },
  };
}

function setup(opts: { margin?: number } = {}) {
  const clock = new FakeClock();
  const server = new FakeServer(clock);
  const player = new PolyvPlayer({ appClient: server.client, adapter: clock.adapter, refreshMarginMs: opts.margin ?? 60000 });
  const sources: Array<{ src: string; reason: string; initialTime: number }> = [];
  const errors: MediaKitError[] = [];
  const tokens: string[] = [];
  player.on('source', (s) => sources.push(s));
  player.on('error', (e) => errors.push(e));
  player.on('token', (t) => tokens.push(t.token));
  return { clock, server, player, sources, errors, tokens };
}

describe('polyvTokenizedUrl', () => {
  test('appends token, iswxa=1 and pid with ? or & as the URL needs', () => {
    expect(polyvTokenizedUrl('http://h/a.m3u8', 'T', 'P')).toBe('http://h/a.m3u8?token=T&iswxa=1&pid=P');
    expect(polyvTokenizedUrl('http://h/a.m3u8?x=1', 'T', 'P')).toBe('http://h/a.m3u8?x=1&token=T&iswxa=1&pid=P');
    expect(polyvTokenizedUrl('http://h/a.m3u8?', 'T', 'P')).toBe('http://h/a.m3u8?token=T&iswxa=1&pid=P');
  });
  test('replaces an old token / iswxa / pid, keeps other params and the #fragment, encodes values', () => {
    expect(polyvTokenizedUrl('http://h/a.m3u8?token=old&iswxa=0&tokenish=1&pid=9#t=3', 'a b&c', '1X2')).toBe('http://h/a.m3u8?tokenish=1&token=a%20b%26c&iswxa=1&pid=1X2#t=3');
  });
  test('bad input: empty URL or token → typed errors', () => {
    expect(() => polyvTokenizedUrl('', 'T', 'P')).toThrow(expect.objectContaining({ code: PolyvErrorCode.NoDefinition }));
    expect(() => polyvTokenizedUrl('http://h/a.m3u8', '', 'P')).toThrow(expect.objectContaining({ code: PolyvErrorCode.TokenLoadFailed }));
  });
});

describe('PolyvPlayer', () => {
  test('bad input: empty or blank vid → POLYV_EMPTY_VID without calling the AppServer; missing appClient → INVALID_OPTION', async () => {
    const { player, server } = setup();
    await expect(player.load('')).rejects.toMatchObject({ code: PolyvErrorCode.EmptyVid });
    await expect(player.load('   ')).rejects.toMatchObject({ code: PolyvErrorCode.EmptyVid });
    expect(server.calls).toHaveLength(0);
    expect(() => new PolyvPlayer({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    await expect(player.switchDefinition(1)).rejects.toMatchObject({ code: PolyvErrorCode.NotLoaded });
  });

  test('load: POST /api/polyv/play {videoId}, source for the first definition, countdown on the server clock', async () => {
    const { player, server, sources, clock } = setup();
    server.serverSkew = 3_600_000; // the phone's clock is an hour behind the server
    const s = await player.load(` ${VID} `);
    expect(server.calls).toEqual([{ method: 'POST', path: '/api/polyv/play', body: { videoId: VID } }]);
    expect(s).toMatchObject({ src: 'http://hls/u/l/v_1.m3u8?token=tok-1&iswxa=1&pid=pid-1', definitionIndex: 0, label: '流畅', initialTime: 0, reason: 'load' });
    expect(sources).toHaveLength(1);
    expect(player.timeLeftMs()).toBe(600_000);
    await clock.advance(100_000);
    expect(player.timeLeftMs()).toBe(500_000);
    expect(player.info!.title).toBe('sample');
  });

  test('refreshes before expiredTime on a timer: same token → only a "token" event; new token → a new source at the position', async () => {
    const { player, server, sources, tokens, clock } = setup();
    await player.load(VID);
    expect(clock.nextAt()! - clock.t).toBe(540_000); // expiredTime − 60 s margin
    player.updatePosition(42.5);
    await clock.advance(540_000);
    expect(server.calls).toHaveLength(2);
    expect(server.calls[1].body).toEqual({ videoId: VID });
    expect(tokens).toEqual(['tok-1']);
    expect(sources).toHaveLength(1); // src unchanged: nothing to reload
    expect(player.timeLeftMs()).toBe(600_000);
    server.token = 'tok-2';
    await clock.advance(540_000);
    expect(sources).toHaveLength(2);
    expect(sources[1]).toMatchObject({ reason: 'refresh', initialTime: 42.5, src: expect.stringContaining('token=tok-2') });
    expect(sources[1].src).toContain('pid=pid-1'); // same play session
  });

  test('definition switch keeps the position, and refreshes the token first when it is about to expire', async () => {
    const { player, server, clock } = setup();
    await player.load(VID);
    const s = await player.switchDefinition(1, 12.3);
    expect(s).toMatchObject({ definitionIndex: 1, label: '高清', initialTime: 12.3, reason: 'switch', src: 'http://hls/u/l/v_2.m3u8?sign=abc&token=tok-1&iswxa=1&pid=pid-1' });
    expect(server.calls).toHaveLength(1);
    player.destroy(); // stop the timer; drive expiry by hand on a new player
    const t = setup({ margin: 60000 });
    await t.player.load(VID);
    t.clock.t += 560_000; // 40 s left, the timer has not fired (it would at 540 s; we jumped the clock)
    t.server.token = 'tok-9';
    const s2 = await t.player.switchDefinition(1, 30);
    expect(t.server.calls).toHaveLength(2);
    expect(s2).toMatchObject({ reason: 'switch', initialTime: 30, src: expect.stringContaining('token=tok-9') });
    await expect(t.player.switchDefinition(2)).rejects.toMatchObject({ code: PolyvErrorCode.NoDefinition });
    await expect(t.player.switchDefinition(0.5)).rejects.toMatchObject({ code: PolyvErrorCode.NoDefinition });
    expect(clock.pending).toBe(0);
  });

  test('<video> error: recover() gets a fresh token (refresh:true) and resumes at the position, once until playback progresses', async () => {
    const { player, server, sources, errors } = setup();
    await player.load(VID);
    player.updatePosition(10);
    server.token = 'tok-new';
    const r = await player.recover(11, 'MEDIA_ERR_NETWORK');
    expect(server.calls[1].body).toEqual({ videoId: VID, refresh: true });
    expect(r).toMatchObject({ reason: 'recover', initialTime: 11, src: expect.stringContaining('token=tok-new') });
    expect(sources.map((s) => s.reason)).toEqual(['load', 'recover']);
    expect(sources[1].src).toContain('pid=pid-2'); // a new play session: the src changes even with the same token
    await expect(player.recover(11, 'MEDIA_ERR_NETWORK')).rejects.toMatchObject({ code: PolyvErrorCode.PlaybackFailed, details: expect.objectContaining({ errMsg: 'MEDIA_ERR_NETWORK' }) });
    expect(errors.map((e) => e.code)).toEqual([PolyvErrorCode.PlaybackFailed]);
    expect(server.calls).toHaveLength(2); // no loop
    player.updatePosition(12); // it played again
    await expect(player.recover(12)).resolves.toMatchObject({ reason: 'recover' });
  });

  test('typed load errors: network → POLYV_NETWORK_ERROR (retryable); server refusal → POLYV_TOKEN_LOAD_FAILED with serverCode; junk → TOKEN_LOAD_FAILED', async () => {
    const { player, server } = setup();
    server.fail = new MediaKitError('NETWORK_ERROR', 'request:fail connect ECONNREFUSED');
    await expect(player.load(VID)).rejects.toMatchObject({ code: PolyvErrorCode.Network, details: expect.objectContaining({ retryable: true }) });
    server.fail = new MediaKitError('PolyvVideoNotFound', 'No such Polyv video', { statusCode: 404 });
    await expect(player.load(VID)).rejects.toMatchObject({ code: PolyvErrorCode.TokenLoadFailed, message: 'No such Polyv video', details: expect.objectContaining({ serverCode: 'PolyvVideoNotFound', statusCode: 404 }) });
    server.fail = new MediaKitError('Unauthorized', 'log in', { statusCode: 401 });
    await expect(player.load(VID)).rejects.toMatchObject({ code: PolyvErrorCode.TokenLoadFailed, details: expect.objectContaining({ serverCode: 'Unauthorized' }) });
    server.fail = undefined;
    server.raw = { title: 'no token here' };
    await expect(player.load(VID)).rejects.toMatchObject({ code: PolyvErrorCode.TokenLoadFailed });
  });

  test('expiry: a failing background refresh reports the error and retries while time is left, then POLYV_TOKEN_EXPIRED', async () => {
    const { player, server, errors, clock } = setup();
    await player.load(VID);
    server.fail = new MediaKitError('TIMEOUT', 'request:fail timeout');
    await clock.advance(540_000); // refresh due, fails: 60 s left → retry in 30 s
    expect(errors.map((e) => e.code)).toEqual([PolyvErrorCode.Network]);
    await clock.advance(30_000); // fails again, 30 s left → retry in 15 s
    await clock.advance(15_000); // 15 s left → retry in 7.5 s
    await clock.advance(7_500); // 7.5 s left → retry in 5 s (the floor)
    await clock.advance(5_000); // 2.5 s left → retry in 5 s
    await clock.advance(5_000); // expired
    expect(errors[errors.length - 1].code).toBe(PolyvErrorCode.Expired);
    expect(player.isExpired()).toBe(true);
    // Retry from the page: load again works once the server is back.
    server.fail = undefined;
    await expect(player.load(VID)).resolves.toMatchObject({ reason: 'load' });
    expect(player.isExpired()).toBe(false);
  });

  test('coming back from the background with little time left refreshes at once', async () => {
    const { player, server, clock } = setup();
    await player.load(VID);
    clock.t += 580_000; // the timer was frozen in the background
    clock.showListeners.forEach((f) => f());
    await flush();
    expect(server.calls).toHaveLength(2);
    expect(player.timeLeftMs()).toBe(600_000);
  });

  test('destroy() stops the timer and the app-show listener', async () => {
    const { player, clock } = setup();
    await player.load(VID);
    expect(clock.pending).toBe(1);
    player.destroy();
    expect(clock.pending).toBe(0);
    expect(clock.showListeners).toHaveLength(0);
    await expect(player.load(VID)).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
