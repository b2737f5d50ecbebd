/**
 * Which user may reach which device: the AppServer's own table (Tencent's IoT Video API has no end users; IoT
 * Explorer's family model is optional). Keyed by the mini-program user's openid; each binding names the device on
 * Tencent Cloud (ProductId, DeviceName) and the deviceId the mini-program uses (the DeviceName).
 *
 * Sources, merged: the persisted table (<AppServer dataDir>/iot-bindings.json), a read-only seed file
 * (IOT_BINDINGS_FILE: {"<openid>": ["<DeviceName>" | {"deviceName", "productId"?, "name"?}, …]}), and in development the
 * local cloud's demo provisioning. Maps throughout: an openid or deviceId such as "__proto__" is just a key.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

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

export class IoTBindings {
  private readonly byUser = new Map<string, IoTBinding[]>();
  private readonly byDevice = new Map<string, Set<string>>();

  constructor(
    private readonly file: string | undefined,
    seed?: unknown,
    defaultProductId?: string,
  ) {
    if (file && existsSync(file)) {
      const j = JSON.parse(readFileSync(file, 'utf8')) as { users?: Record<string, IoTBinding[]> };
      for (const [openid, list] of Object.entries(j.users || {})) for (const b of list) this.add(openid, b, false);
    }
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
        this.add(openid, { deviceId: o.deviceName, deviceName: o.deviceName, productId, name: typeof o.name === 'string' ? o.name.slice(0, 64) : o.deviceName }, false);
      }
    }
  }

  private save(): void {
    if (!this.file) return;
    mkdirSync(path.dirname(this.file), { recursive: true });
    const users: Record<string, IoTBinding[]> = {};
    for (const [k, v] of this.byUser) Object.defineProperty(users, k, { value: v, enumerable: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, users }));
    renameSync(tmp, this.file);
  }

  private add(openid: string, b: IoTBinding, persist: boolean): boolean {
    const list = this.byUser.get(openid) || [];
    if (list.some((x) => x.deviceId === b.deviceId)) return false;
    list.push({ deviceId: b.deviceId, productId: b.productId, deviceName: b.deviceName, name: b.name });
    this.byUser.set(openid, list);
    const owners = this.byDevice.get(b.deviceId) || new Set<string>();
    owners.add(openid);
    this.byDevice.set(b.deviceId, owners);
    if (persist) this.save();
    return true;
  }

  has(openid: string): boolean {
    return this.byUser.has(openid);
  }

  list(openid: string): IoTBinding[] {
    return (this.byUser.get(openid) || []).slice();
  }

  /** 8002 when no user has the device, 8003 when someone else has it. */
  lookup(openid: string, deviceId: string): BindingLookup {
    const mine = (this.byUser.get(openid) || []).find((b) => b.deviceId === deviceId);
    if (mine) return { binding: mine };
    return { code: this.byDevice.has(deviceId) ? 8003 : 8002 };
  }

  /** Binds; false when already bound. */
  bind(openid: string, b: IoTBinding): boolean {
    return this.add(openid, b, true);
  }

  /** Marks a user as known with no devices (so provisioning is not retried). */
  touch(openid: string): void {
    if (!this.byUser.has(openid)) {
      this.byUser.set(openid, []);
      this.save();
    }
  }

  /** Any binding of a device (for the device's ProductId when binding it to one more user). */
  anyBinding(deviceId: string): IoTBinding | undefined {
    const owners = this.byDevice.get(deviceId);
    if (!owners) return undefined;
    for (const o of owners) {
      const b = (this.byUser.get(o) || []).find((x) => x.deviceId === deviceId);
      if (b) return b;
    }
    return undefined;
  }
}
