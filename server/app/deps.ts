import type { CloudUrls } from '../cloud/context';
import type { Store } from './store/types';

/** What every AppServer route module receives. Each module reads its own provider settings from `env`. */
export interface AppDeps {
  env: NodeJS.ProcessEnv;
  /** The local cloud's provider URLs, when the AppServer runs against it (the default). */
  cloud?: CloudUrls;
  /** The AppServer's own folder for anything it keeps (caches); never secrets from the environment. */
  dataDir: string;
  now(): number;
  /**
   * Where every route keeps its state (server/app/store). buildAppServer opens one from the environment when this is
   * not given (REDIS_URL → Redis, else DATA_DIR/app/store.json) and closes what it opened.
   */
  store?: Store;
}

/** The store of a deps object built by buildAppServer. */
export function appStore(deps: AppDeps): Store {
  if (!deps.store) throw new Error('AppDeps.store is missing: route modules get it from buildAppServer.');
  return deps.store;
}

/** The logged-in mini-program user, set on every authenticated request. */
export interface AuthUser {
  openid: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    user: AuthUser;
  }
}
