/**
 * One view-model per page INSTANCE. A page module runs once and its instances share module scope, so a module-level
 * `let vm` would be overwritten when the same page is opened twice in the page stack (events of device A → detail →
 * events of device B). Keep the view-model keyed by the instance instead.
 */
const vms = new WeakMap<object, unknown>();

export function bindVm<T>(page: object, vm: T): T {
  vms.set(page, vm);
  return vm;
}

export function vmOf<T>(page: object): T | undefined {
  return vms.get(page) as T | undefined;
}

export function unbindVm(page: object): void {
  vms.delete(page);
}
