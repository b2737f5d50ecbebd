/**
 * SCAFFOLD — replaced by the issue that implements this provider. Until then every request answers 501.
 */
import { createFastify } from '../../http';
import type { CloudProvider } from '../context';

export function polyvProvider(): CloudProvider {
  return {
    name: 'polyv',
    async build() {
      const app = createFastify({ name: 'polyv' });
      app.all('/*', async (_req, reply) => reply.status(501).send({ error: 'provider polyv not implemented yet' }));
      return app;
    },
  };
}
