/**
 * SCAFFOLD — the /api/polyv/* routes are added by the issue that implements this provider.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps';

export default async function polyvRoutes(_app: FastifyInstance, _deps: AppDeps): Promise<void> {
  // no routes yet
}
