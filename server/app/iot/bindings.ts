/**
 * Which user may reach which device: the AppServer's own table (Tencent's IoT Video API has no end users; IoT
 * Explorer's family model is optional). Keyed by the mini-program user's openid; each binding names the device on
 * Tencent Cloud (ProductId, DeviceName) and the deviceId the mini-program uses (the DeviceName).
 *
 * Sources, merged: the bindings kept in the AppServer's store (server/app/store; shared by every instance with
 * REDIS_URL), a read-only seed file (IOT_BINDINGS_FILE: {"<openid>": ["<DeviceName>" | {"deviceName", "productId"?,
 * "name"?}, …]}) held in memory, and in development the local cloud's demo provisioning. Store layout, no TTL:
 *   hash "iot:user:<openid>"    deviceId → JSON {deviceId, productId, deviceName, name, at}
 *   hash "iot:device:<deviceId>" openid → "1" (who has the device: 8003 vs 8002)
 *   key  "iot:known:<openid>"   "1" once the user was provisioned (even with no devices)
 * A bind is one HSETNX (two instances binding the same device for one user: one wins, the other answers 8022).
 * Older AppServers kept DATA_DIR/app/iot-bindings.json; importLegacy() moves it into the store once.
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { parseJson, type Store } from '../store';

export interface IoTBinding {
  /** What the mini-program calls the device (the DeviceName). */
  deviceId: string;
  productId: string;
  deviceName: string;
  /** Display name. */
  name: string;
}

export type BindingLookup = { binding: IoTBinding } | { code: 8002 | 8003 };

const DEVICE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const PRODUCT_ID = /^[A-Za-z0-9]{1,32}$/;

const userKey = (openid: string) => `iot:user:${openid}`;
const deviceKey = (deviceId: string) => `iot:device:${deviceId}`;
const knownKey = (openid: string) => `iot:known:${openid}`;

const clean = (b: IoTBinding): IoTBinding => ({ deviceId: b.deviceId, productId: b.productId, deviceName: b.deviceName, name: b.name });

export class IoTBindings {
  /** IOT_BINDINGS_FILE, read-only. Maps: an openid or deviceId such as "__proto__" is just a key. */
  private readonly seedByUser = new Map<string, IoTBinding[]>();
  private readonly seedByDevice = new Map<string, Set<string>>();
  private seq = 0;

  constructor(
    private readonly store: Store,
    seed?: unknown,
    defaultProductId?: string,
    private readonly now: () => number = Date.now,
  ) {
    if (seed !== undefined) this.loadSeed(seed, defaultProductId);
  }

  /** IOT_BINDINGS_FILE's content; throws on a malformed entry (a configuration mistake stops the AppServer). */
  private loadSeed(seed: unknown, defaultProductId: string | undefined): void {
    if (!seed || typeof seed !== 'object' || Array.isArray(seed)) throw new Error('IOT_BINDINGS_FILE: a JSON object {"<openid>": [devices]}.');
    for (const [openid, list] of Object.entries(seed as Record<string, unknown>)) {
      if (!Array.isArray(list)) throw new Error(`IOT_BINDINGS_FILE: ${openid} must list devices.`);
      for (const item of list) {
        const o = typeof item === 'string' ? { deviceName: item } : (item as { deviceName?: unknown; productId?: unknown; name?: unknown });
        const productId = typeof o.productId === 'string' ? o.productId : defaultProductId;
        if (typeof o.deviceName !== 'string' || !DEVICE_NAME.test(o.deviceName)) throw new Error(`IOT_BINDINGS_FILE: bad deviceName for ${openid}.`);
        if (!productId || !PRODUCT_ID.test(productId)) throw new Error(`IOT_BINDINGS_FILE: ${openid}/${o.deviceName} needs a productId (or set IOT_PRODUCT_ID).`);
        const b = { deviceId: o.deviceName, deviceName: o.deviceName, productId, name: typeof o.name === 'string' ? o.name.slice(0, 64) : o.deviceName };
        const mine = this.seedByUser.get(openid) || [];
        if (mine.some((x) => x.deviceId === b.deviceId)) continue;
        mine.push(b);
        this.seedByUser.set(openid, mine);
        const owners = this.seedByDevice.get(b.deviceId) || new Set<string>();
        owners.add(openid);
        this.seedByDevice.set(b.deviceId, owners);
      }
    }
  }

  /** Imports a legacy iot-bindings.json ({version, users: {openid: [binding]}}) into the store, then renames it. */
  async importLegacy(file: string): Promise<number> {
    if (!existsSync(file)) return 0;
    const j = parseJson<{ users?: Record<string, IoTBinding[]> }>(readFileSync(file, 'utf8'));
    let n = 0;
    for (const [openid, list] of Object.entries((j && j.users) || {})) {
      if (!Array.isArray(list)) continue;
      await this.touch(openid);
      for (const b of list) if (b && typeof b.deviceId === 'string' && DEVICE_NAME.test(b.deviceId) && (await this.bind(openid, b))) n++;
    }
    renameSync(file, `${file}.imported`);
    return n;
  }

  private async stored(openid: string): Promise<IoTBinding[]> {
    const all = await this.store.hgetall(userKey(openid));
    return Object.values(all)
      .map((v) => parseJson<IoTBinding & { at?: number }>(v))
      .filter((b): b is IoTBinding & { at?: number } => !!b && typeof b.deviceId === 'string')
      .sort((a, b) => (a.at ?? 0) - (b.at ?? 0))
      .map(clean);
  }

  async has(openid: string): Promise<boolean> {
    if (this.seedByUser.has(openid)) return true;
    return (await this.store.get(knownKey(openid))) !== undefined || Object.keys(await this.store.hgetall(userKey(openid))).length > 0;
  }

  async list(openid: string): Promise<IoTBinding[]> {
    const seed = this.seedByUser.get(openid) || [];
    const own = (await this.stored(openid)).filter((b) => !seed.some((s) => s.deviceId === b.deviceId));
    return [...seed.map(clean), ...own];
  }

  /** 8002 when no user has the device, 8003 when someone else has it. */
  async lookup(openid: string, deviceId: string): Promise<BindingLookup> {
    const seeded = (this.seedByUser.get(openid) || []).find((b) => b.deviceId === deviceId);
    if (seeded) return { binding: clean(seeded) };
    const mine = parseJson<IoTBinding>(await this.store.hget(userKey(openid), deviceId));
    if (mine) return { binding: clean(mine) };
    const someone = this.seedByDevice.has(deviceId) || Object.keys(await this.store.hgetall(deviceKey(deviceId))).length > 0;
    return { code: someone ? 8003 : 8002 };
  }

  /** Binds; false when already bound. The device index is written first: a failure between leaves no hidden binding. */
  async bind(openid: string, b: IoTBinding): Promise<boolean> {
    if ((this.seedByUser.get(openid) || []).some((x) => x.deviceId === b.deviceId)) return false;
    await this.store.hset(deviceKey(b.deviceId), openid, '1');
    // `at` keeps the binding order (provisioning binds several devices in one millisecond).
    return this.store.hsetIfAbsent(userKey(openid), b.deviceId, JSON.stringify({ ...clean(b), at: this.now() + this.seq++ / 1000 }));
  }

  /** Marks a user as known with no devices (so provisioning is not retried). */
  async touch(openid: string): Promise<void> {
    await this.store.setIfAbsent(knownKey(openid), '1');
  }

  /** Any binding of a device (for the device's ProductId when binding it to one more user). */
  async anyBinding(deviceId: string): Promise<IoTBinding | undefined> {
    for (const o of this.seedByDevice.get(deviceId) || []) {
      const b = (this.seedByUser.get(o) || []).find((x) => x.deviceId === deviceId);
      if (b) return clean(b);
    }
    for (const o of Object.keys(await this.store.hgetall(deviceKey(deviceId)))) {
      const b = parseJson<IoTBinding>(await this.store.hget(userKey(o), deviceId));
      if (b) return clean(b);
    }
    return undefined;
  }
}
