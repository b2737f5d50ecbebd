/**
 * The console's front end: preact + htm (no build step of its own: server/console bundles this file with esbuild),
 * hls.js for m3u8 playback (MP4 plays natively). Four tabs: media library, IoT, requests, faults.
 */
import { Fragment, h, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import Hls from 'hls.js';

const html = htm.bind(h);

type Json = Record<string, any>;

async function api<T = Json>(method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const j = (await res.json().catch(() => ({}))) as Json;
  if (!res.ok) throw new Error(`${j.error?.code || res.status}: ${j.error?.message || res.statusText}`);
  return j as T;
}

/** Polls `fn` every `ms` while mounted; returns [data, error, refresh]. */
function usePoll<T>(fn: () => Promise<T>, ms: number): [T | undefined, string | undefined, () => void] {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = () =>
      fn().then(
        (d) => alive && (setData(d), setError(undefined)),
        (e: Error) => alive && setError(e.message),
      ).finally(() => {
        if (alive) timer = setTimeout(run, ms);
      });
    run();
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
  }, [tick]);
  return [data, error, () => setTick((t) => t + 1)];
}

const size = (n: number | null | undefined) => (n === null || n === undefined ? '—' : n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(2)} MB`);
const time = (iso: string | number | undefined) => (iso === undefined ? '' : new Date(iso).toLocaleTimeString('zh-CN', { hour12: false }));
const statusClass = (s: string) => (/^(Normal|UploadSucc|valid|online)$/.test(s) ? 'ok' : /(Fail|Error|Blocked|expired)/i.test(s) ? 'bad' : 'warn');

// ---------------------------------------------------------------------------------------------------- media

function Player({ videoId, onClose }: { videoId: string; onClose: () => void }) {
  const [info, setInfo] = useState<Json | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [pick, setPick] = useState(0);
  const [state, setState] = useState('loading');
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    api('POST', `/console/api/vod/${encodeURIComponent(videoId)}/play`).then(
      (r) => {
        setInfo(r);
        const mp4 = (r.streams as Json[]).findIndex((s) => s.format === 'mp4');
        setPick(mp4 >= 0 ? mp4 : 0);
      },
      (e: Error) => setError(e.message),
    );
  }, [videoId]);
  const stream: Json | undefined = info?.streams[pick];
  useEffect(() => {
    const v = ref.current;
    if (!v || !stream) return;
    setState('loading');
    let hls: Hls | undefined;
    if (stream.format === 'm3u8' && Hls.isSupported()) {
      hls = new Hls();
      hls.on(Hls.Events.ERROR, (_e, d) => d.fatal && setState(`error: ${d.details}`));
      hls.loadSource(`/console/proxy?url=${encodeURIComponent(stream.url)}`);
      hls.attachMedia(v);
    } else {
      v.src = stream.url;
    }
    return () => {
      if (hls) hls.destroy();
      v.removeAttribute('src');
      v.load();
    };
  }, [stream?.url]);
  if (error) return html`<section><h2>播放 Play ${videoId}</h2><p class="error" data-testid="play-error">${error}</p><button onClick=${onClose}>关闭 Close</button></section>`;
  if (!info) return html`<section><p class="muted">GetPlayInfo…</p></section>`;
  return html`<section data-testid="player">
    <h2>播放 Play · ${info.title} <button onClick=${onClose}>关闭 Close</button></h2>
    <div class="player">
      <video ref=${ref} controls muted playsinline data-testid="video" onCanPlay=${() => setState('canplay')} onError=${() => setState('error')}></video>
      <div>
        <div class="row">${(info.streams as Json[]).map(
          (s, i) => html`<button class=${i === pick ? 'primary' : ''} onClick=${() => setPick(i)}>${s.definition} ${s.format}${s.encrypt ? ' 🔒' : ''}</button>`,
        )}</div>
        <p>状态 State: <span class=${state === 'canplay' ? 'ok' : state.startsWith('error') ? 'bad' : 'warn'} data-testid="player-state">${state}</span></p>
        <p class="mono muted">${stream?.url}</p>
      </div>
    </div>
  </section>`;
}

function Media() {
  const [lib, error] = usePoll(() => api('GET', '/console/api/library'), 3000);
  const [playing, setPlaying] = useState<string | undefined>(undefined);
  if (!lib) return html`<p class=${error ? 'error' : 'muted'}>${error || 'Loading…'}</p>`;
  return html`
    ${playing && html`<${Player} key=${playing} videoId=${playing} onClose=${() => setPlaying(undefined)} />`}
    <section>
      <h2>阿里云点播 Aliyun VOD</h2>
      <table data-testid="aliyun-videos">
        <tr><th>标题 Title</th><th>VideoId</th><th>状态 Status</th><th>大小 Size</th><th>清晰度 Definitions</th><th></th></tr>
        ${(lib.aliyun.videos as Json[]).map(
          (v) => html`<tr key=${v.videoId} class=${playing === v.videoId ? 'sel' : ''} data-video-id=${v.videoId}>
            <td>${v.title}${v.sample ? html` <span class="badge">示例 sample</span>` : ''}<div class="muted">${v.fileName}</div></td>
            <td class="mono">${v.videoId}</td>
            <td><span class=${`badge ${statusClass(v.status)}`}>${v.status}</span></td>
            <td>${size(v.size)}</td>
            <td>${(v.streams as Json[]).map((s) => html`<span class="badge">${s.definition} ${s.format}${s.encrypt ? ' 🔒' : ''}</span>`)}${v.streams.length ? '' : html`<span class="muted">—</span>`}</td>
            <td>${v.streams.length ? html`<button onClick=${() => setPlaying(v.videoId)}>▶ 播放 Play</button>` : ''}</td>
          </tr>`,
        )}
      </table>
    </section>
    <section>
      <h2>腾讯云点播 Tencent VOD</h2>
      ${lib.tencent.media.length
        ? html`<table data-testid="tencent-media"><tr><th>FileId</th><th>名称 Name</th><th>大小 Size</th><th>任务流 Procedure</th><th>上传于 Uploaded</th></tr>
            ${(lib.tencent.media as Json[]).map((m) => html`<tr key=${m.fileId} data-file-id=${m.fileId}><td class="mono">${m.fileId}</td><td>${m.name}.${m.type}</td><td>${size(m.size)}</td><td>${m.procedure || '—'}</td><td>${time(m.createTime)}</td></tr>`)}</table>`
        : html`<p class="muted">还没有文件 No files yet.</p>`}
      <h2>事件 Events <span class="muted">(${lib.tencent.events.mode || 'PULL'})</span></h2>
      ${lib.tencent.events.history.length
        ? html`<table data-testid="tencent-events"><tr><th>时间 Time</th><th>类型 Type</th><th>FileId</th><th>投递 Delivery</th></tr>
            ${(lib.tencent.events.history as Json[]).map(
              (e) => html`<tr key=${e.id} data-file-id=${e.fileId}><td>${time(e.createdAt)}</td><td>${e.eventType}</td><td class="mono">${e.fileId || ''}</td>
                <td>${e.confirmedAt ? html`<span class="badge ok">已确认 confirmed</span> ${time(e.confirmedAt)}` : e.pulls ? html`<span class="badge warn">已拉取 pulled ×${e.pulls}</span>` : html`<span class="badge">待投递 waiting</span>`}
                ${(lib.tencent.events.pushes as Json[]).filter((p) => p.id === e.id).map((p) => html` <span class=${`badge ${p.status === 200 ? 'ok' : 'bad'}`}>PUSH #${p.attempt} ${p.status ?? p.error ?? '…'}</span>`)}</td></tr>`,
            )}</table>`
        : html`<p class="muted">没有事件 No events yet.</p>`}
    </section>
    <section>
      <h2>保利威 Polyv</h2>
      <table data-testid="polyv-samples"><tr><th>vid</th><th>标题 Title</th><th>清晰度 Definitions</th><th>可播 Playable</th></tr>
        ${(lib.polyv.samples as Json[]).map((s) => html`<tr><td class="mono">${s.vid}</td><td>${s.title}</td><td>${s.definitions.join(' ')}</td><td>${s.playable ? '✓' : '✗'}</td></tr>`)}</table>
      <h2>播放凭证 Tokens</h2>
      ${lib.polyv.tokens.length
        ? html`<table data-testid="polyv-tokens"><tr><th>token</th><th>vid</th><th>viewer</th><th>状态 State</th><th>使用 Uses</th><th>过期 Expires</th></tr>
            ${(lib.polyv.tokens as Json[]).map((t) => html`<tr><td class="mono">${t.token.slice(0, 18)}…</td><td class="mono">${t.videoId}</td><td>${t.viewerId}</td><td><span class=${`badge ${statusClass(t.state)}`}>${t.state}</span>${t.disposable ? html` <span class="badge">一次性 once</span>` : ''}</td><td>${t.uses}</td><td>${time(t.expires)}</td></tr>`)}</table>`
        : html`<p class="muted">还没有签发 None issued yet.</p>`}
    </section>`;
}

// ---------------------------------------------------------------------------------------------------- IoT

function Iot() {
  const [data, error, refresh] = usePoll(() => api('GET', '/console/api/iot'), 3000);
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [raised, setRaised] = useState<Record<string, string>>({});
  const raise = useCallback(async (name: string) => {
    setBusy(name);
    try {
      const r = await api('POST', `/console/api/iot/${encodeURIComponent(name)}/event`, {});
      const ev = (r.data?.list || [])[0];
      if (ev) setRaised((old) => ({ ...old, [name]: ev.alarmId }));
      refresh();
    } finally {
      setBusy(undefined);
    }
  }, []);
  if (!data) return html`<p class=${error ? 'error' : 'muted'}>${error || 'Loading…'}</p>`;
  if (!data.devices.length) return html`<section><p class="muted">还没有设备 No devices yet (the AppServer provisions the demo devices at a user's first IoT call).</p></section>`;
  return html`${(data.devices as Json[]).map(
    (d) => html`<section key=${d.deviceName} data-device=${d.deviceName}>
      <h2>${d.name || d.deviceName} <span class="mono muted">${d.productId}/${d.deviceName}</span> <span class=${`badge ${d.online ? 'ok' : 'bad'}`}>${d.online ? '在线 online' : '离线 offline'}</span></h2>
      <div class="row"><button class="primary" disabled=${busy === d.deviceName} onClick=${() => raise(d.deviceName)}>⚡ 触发事件 Raise an event now</button><span class="muted">${d.events.length} events</span>${raised[d.deviceName] && html`<span class="muted">刚触发 raised: <span class="mono" data-testid="raised">${raised[d.deviceName]}</span></span>`}</div>
      <div class="timeline">${(d.events as Json[]).map(
        (e) => html`<div class=${`event${raised[d.deviceName] === e.alarmId ? ' new' : ''}`} key=${e.alarmId} data-alarm-id=${e.alarmId}><img loading="lazy" src=${e.ThumbnailURL} alt="" /><div>${time(e.startTime * 1000)}–${time(e.endTime * 1000)}</div><div class="muted mono">${e.EventId} · 0x${Number(e.alarmType).toString(16)}</div></div>`,
      )}</div>
    </section>`,
  )}`;
}

// ---------------------------------------------------------------------------------------------------- requests

function Requests() {
  const [list, setList] = useState<Json[]>([]);
  const [open, setOpen] = useState<number | undefined>(undefined);
  const [onlyErrors, setOnlyErrors] = useState(false);
  const since = useRef(0);
  usePoll(async () => {
    const r = await api<{ requests: Json[] }>('GET', `/console/api/requests?since=${since.current}`);
    // pending entries come back again once done (by id): keep the newest copy
    setList((old) => {
      const byId = new Map(old.map((e) => [e.id, e]));
      for (const e of r.requests) byId.set(e.id, e);
      const all = [...byId.values()].sort((a, b) => b.id - a.id).slice(0, 300);
      const pending = all.filter((e) => !e.done).map((e) => e.id);
      since.current = pending.length ? Math.min(...pending) - 1 : all.length ? all[0].id : since.current;
      return all;
    });
    return r;
  }, 1000);
  const shown = onlyErrors ? list.filter((e) => e.status === 0 || e.status >= 400) : list;
  return html`<section>
    <div class="row"><h2>最近的请求 Last requests</h2><label><input type="checkbox" data-testid="errors-only" checked=${onlyErrors} onChange=${(e: Event) => setOnlyErrors((e.target as HTMLInputElement).checked)} /> 只看失败 errors only</label>
      <button onClick=${() => api('DELETE', '/console/api/requests').then(() => setList([]))}>清空 Clear</button></div>
    <table data-testid="requests">
      <tr><th>#</th><th>时间 Time</th><th>服务 Provider</th><th>请求 Request</th><th>状态 Status</th><th>错误 Code</th><th>ms</th></tr>
      ${shown.map(
        (e) => html`<${Fragment} key=${e.id}><tr class=${open === e.id ? 'sel' : ''} data-request-id=${e.id} onClick=${() => setOpen(open === e.id ? undefined : e.id)} style="cursor:pointer">
            <td class="muted">${e.id}</td><td>${time(e.time)}</td><td>${e.provider}</td>
            <td class="mono url" title=${e.url}>${e.method} ${e.url}</td>
            <td data-testid="status"><span class=${`badge ${e.status === null ? 'warn' : e.status === 0 || e.status >= 400 ? 'bad' : 'ok'}`}>${e.status === null ? '…' : e.status === 0 ? 'reset' : e.status}</span></td>
            <td>${e.code || ''}${e.fault ? html` <span class="badge warn" data-testid="fault">⚡ ${e.fault}</span>` : ''}${e.stringToSign !== undefined ? html` <span class="badge">StringToSign</span>` : ''}</td>
            <td class="muted">${e.ms ?? ''}</td>
          </tr>
          ${open === e.id &&
          html`<tr class="req-detail"><td colspan="7" data-testid="request-detail">
            ${e.message && html`<div>${e.message.replace(/server string to sign is:[\s\S]*$/, '')}</div>`}
            ${e.error && html`<div class="error">${e.error}</div>`}
            ${e.stringToSign !== undefined && html`<div>服务端计算的待签名字符串 String to sign (server):</div><pre class="mono" data-testid="string-to-sign">${e.stringToSign}</pre>`}
            ${e.canonicalRequest !== undefined && html`<div>规范请求 Canonical request:</div><pre class="mono">${e.canonicalRequest}</pre>`}
            <div class="mono muted">${e.method} ${e.url}</div>
          </td></tr>`}<//>`,
      )}
    </table>
  </section>`;
}

// ---------------------------------------------------------------------------------------------------- faults

function Faults() {
  const [data, error, refresh] = usePoll(() => api('GET', '/console/api/faults'), 2000);
  const [times, setTimes] = useState(1);
  const [op, setOp] = useState('UploadPart');
  const [ms, setMs] = useState(3000);
  const [note, setNote] = useState('');
  const act = (method: string, url: string, body?: unknown) =>
    api(method, url, body).then(
      (r) => (setNote(JSON.stringify(r)), refresh()),
      (e: Error) => setNote(e.message),
    );
  return html`<section>
      <h2>故障开关 Fault switches</h2>
      <div class="row">下 N 个请求 Next N requests: <input type="number" min="1" value=${times} data-testid="fault-times" onInput=${(e: Event) => setTimes(Number((e.target as HTMLInputElement).value) || 1)} />
        OSS 操作 operation: <select value=${op} data-testid="fault-op" onChange=${(e: Event) => setOp((e.target as HTMLSelectElement).value)}>
          ${['*', 'UploadPart', 'PutObject', 'PostObject', 'InitiateMultipartUpload', 'CompleteMultipartUpload', 'GetObject'].map((o) => html`<option value=${o}>${o === '*' ? '任意 any' : o}</option>`)}
        </select></div>
      <div class="row">
        <button class="danger" data-testid="fault-reset" onClick=${() => act('POST', '/console/api/faults', { kind: 'reset', times, op })}>断开连接 Reset connection</button>
        <button class="danger" onClick=${() => act('POST', '/console/api/faults', { kind: 'error', times, op, status: 500 })}>返回 500 InternalError</button>
        <button class="danger" onClick=${() => act('POST', '/console/api/faults', { kind: 'slow', times, op, ms })}>变慢 Slow</button> <input type="number" min="0" max="120000" value=${ms} onInput=${(e: Event) => setMs(Number((e.target as HTMLInputElement).value) || 0)} /> ms
      </div>
      <div class="row">
        <button class="danger" onClick=${() => act('POST', '/console/api/faults', { kind: 'cdn-drop', times })}>CDN 下载中断 Drop CDN download after 64 KB</button>
        <button class="danger" data-testid="expire" onClick=${() => act('POST', '/console/api/expire')}>令牌过期 Expire tokens (STS / UploadAuth / PlayURL)</button>
        <button data-testid="fault-clear" onClick=${() => act('DELETE', '/console/api/faults')}>全部清除 Clear all</button>
      </div>
      ${note && html`<p class="mono muted" data-testid="fault-note">${note}</p>`}
    </section>
    <section>
      <h2>生效中 Active</h2>
      ${error && html`<p class="error">${error}</p>`}
      ${data &&
      html`<table data-testid="active-faults"><tr><th>服务 Provider</th><th>规则 Rule</th><th>已触发 Hits</th></tr>
        ${(data.oss as Json[]).map((f) => html`<tr><td>oss ${f.id}</td><td class="mono">${f.op || '*'} ${JSON.stringify(f.action)}</td><td>${f.hits} / ${f.times}</td></tr>`)}
        ${(data.cdn as Json[]).map((f) => html`<tr><td>cdn ${f.id}</td><td class="mono">${f.type} ${f.bytes ?? ''} ${f.path ?? ''}</td><td>${f.hits} / ${f.times ?? '∞'}</td></tr>`)}
      </table>
      <h2>临时凭证 Temporary credentials</h2>
      <table><tr><th>AccessKeyId</th><th>来源 Source</th><th>过期 Expires</th><th></th></tr>
        ${(data.credentials as Json[]).slice(-20).reverse().map((c) => html`<tr><td class="mono">${c.accessKeyId}</td><td>${c.source}${c.mediaId ? ` · ${c.mediaId}` : ''}</td><td>${time(c.expiresAt)}</td><td><span class=${`badge ${c.expired ? 'bad' : 'ok'}`}>${c.expired ? 'expired' : 'valid'}</span></td></tr>`)}
      </table>`}
    </section>`;
}

// ---------------------------------------------------------------------------------------------------- shell

const TABS: Array<[string, string, () => unknown]> = [
  ['media', '媒体库 Media', Media],
  ['iot', '设备 IoT', Iot],
  ['requests', '请求 Requests', Requests],
  ['faults', '故障 Faults', Faults],
];

function App() {
  const current = () => (location.hash.slice(1) || 'media').split('?')[0];
  const [tab, setTab] = useState(current());
  useEffect(() => {
    const on = () => setTab(current());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const Tab = (TABS.find((t) => t[0] === tab) || TABS[0])[2];
  return html`<header><h1>mp-media-kit 本地云控制台 <span class="muted">Local cloud console</span></h1>
      <nav>${TABS.map(([id, label]) => html`<a href=${`#${id}`} class=${id === tab ? 'on' : ''} data-tab=${id}>${label}</a>`)}</nav></header>
    <main><${Tab} /></main>`;
}

const root = document.getElementById('app') as HTMLElement;
root.textContent = ''; // the static "Loading…" placeholder (render() appends to what is there)
render(html`<${App} />`, root);
