/**
 * SCAFFOLD — replaced by the issue that implements this provider. Until then every request answers 501.
 */
import { createFastify } from '../../http';
import type { CloudProvider } from '../context';

export function iotProvider(): CloudProvider {
  return {
    name: 'iot',
    async build() {
      const app = createFastify({ name: 'iot' });
      app.all('/*', async (_req, reply) => reply.status(501).send({ error: 'provider iot not implemented yet' }));
      return app;
    },
  };
}
