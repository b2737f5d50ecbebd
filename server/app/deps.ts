import type { CloudUrls } from '../cloud/context';

/** What every AppServer route module receives. Each module reads its own provider settings from `env`. */
export interface AppDeps {
  env: NodeJS.ProcessEnv;
  /** The local cloud's provider URLs, when the AppServer runs against it (the default). */
  cloud?: CloudUrls;
  /** The AppServer's own folder for anything it keeps (caches); never secrets from the environment. */
  dataDir: string;
  now(): number;
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
