/**
 * IoTBackend over the local IoT cloud: Tencent Cloud API 3.0 calls (service iotvideo, version 2021-11-25,
 * TC3-HMAC-SHA256) made with the official tencentcloud-sdk-nodejs-common client. The client signs for the host
 * `iotvideo.tencentcloudapi.com` as it would in production; an HTTP agent routes the connection to the local cloud's
 * loopback port (like a hosts-file entry), so the request on the wire is exactly what Tencent Cloud would receive.
 */
import http from 'node:http';
import net from 'node:net';
import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import type { IoTBackend, IoTEventQuery, IoTResult } from './backend';
import { IoTBackendError } from './backend';

export interface LocalIoTBackendOptions {
  /** The local cloud's IoT base URL, e.g. http://127.0.0.1:40123 (read at call time). */
  apiUrl: () => string;
  secretId: string;
  secretKey: string;
  region: string;
  /** Host the client signs for (default iotvideo.tencentcloudapi.com). */
  endpoint?: string;
  version?: string;
  timeoutSec?: number;
}

/** An agent that sends every connection to the URL's host:port, whatever host the request names. */
class RoutedAgent extends http.Agent {
  constructor(private readonly target: () => string) {
    // No keep-alive: loopback connections are cheap, and a reused socket the cloud already closed would fail the call.
    super({ keepAlive: false, maxSockets: 16 });
  }
  override createConnection(_options: unknown, cb?: (err: Error | null, socket: net.Socket) => void): net.Socket {
    const u = new URL(this.target());
    const socket = net.connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: parseInt(u.port || '80', 10) });
    if (cb) socket.once('connect', () => cb(null, socket));
    return socket;
  }
}

type CloudResponse = { Code: number; Msg: string; Data: unknown; RequestId?: string };

export function createLocalIoTBackend(o: LocalIoTBackendOptions): IoTBackend {
  const agent = new RoutedAgent(o.apiUrl);
  const client = new CommonClient(o.endpoint || 'iotvideo.tencentcloudapi.com', o.version || '2021-11-25', {
    credential: { secretId: o.secretId, secretKey: o.secretKey },
    region: o.region,
    profile: { httpProfile: { protocol: 'http://', reqMethod: 'POST', reqTimeout: o.timeoutSec || 10, agent } },
  });

  async function call(action: string, params: Record<string, unknown>): Promise<IoTResult> {
    let res: CloudResponse;
    try {
      res = (await client.request(action, params)) as CloudResponse;
    } catch (e) {
      const err = e as Error & { code?: string; requestId?: string };
      throw new IoTBackendError(err.code || 'NetworkError', `IoT cloud ${action} failed: ${err.code ? `${err.code}: ` : ''}${err.message}`, err.requestId);
    }
    if (!res || typeof res.Code !== 'number') throw new IoTBackendError('BadResponse', `IoT cloud ${action} answered without a Code.`, res && res.RequestId);
    return { code: res.Code, msg: res.Msg, data: res.Data ?? null, requestId: res.RequestId };
  }

  return {
    name: 'local',
    listDevices: (userId) => call('DescribeUserDevices', { UserId: userId }),
    getServiceDetailInfo: (userId, deviceId, sourceId) => call('DescribeCloudStorageService', { UserId: userId, DeviceId: deviceId, SourceId: sourceId }),
    getVideoDateList: (userId, deviceId, timezone) => call('DescribeVideoDateList', { UserId: userId, DeviceId: deviceId, Timezone: timezone }),
    getVideoPlayList: (userId, deviceId, startTime, endTime) => call('DescribeVideoPlayList', { UserId: userId, DeviceId: deviceId, StartTime: startTime, EndTime: endTime }),
    getVideoPlayAddress: (userId, deviceId, startTime, endTime) =>
      call('DescribeVideoPlayAddress', { UserId: userId, DeviceId: deviceId, StartTime: startTime, EndTime: endTime }),
    getEventList: (userId, deviceId, q: IoTEventQuery) =>
      call('DescribeEventList', {
        UserId: userId,
        DeviceId: deviceId,
        StartTime: q.startTime,
        EndTime: q.endTime,
        PageSize: q.pageSize,
        TypeMasks: q.typeMasks,
        ValidCloudStorage: q.validCloudStorage,
      }),
    deleteEvents: (userId, deviceId, eventIds) => call('DeleteEvents', { UserId: userId, DeviceId: deviceId, EventIds: eventIds }),
    readProperty: (userId, deviceId, path) => call('ReadProperty', { UserId: userId, DeviceId: deviceId, Path: path }),
    writeProperty: (userId, deviceId, path, json) => call('WriteProperty', { UserId: userId, DeviceId: deviceId, Path: path, Json: json }),
    takeAction: (userId, deviceId, path, json) => call('TakeAction', { UserId: userId, DeviceId: deviceId, Path: path, Json: json }),
    addProperty: (userId, deviceId, path, json) => call('AddProperty', { UserId: userId, DeviceId: deviceId, Path: path, Json: json }),
    deleteProperty: (userId, deviceId, path) => call('DeleteProperty', { UserId: userId, DeviceId: deviceId, Path: path }),
    sendDataToDevice: (userId, deviceId, data, expectResponse) => call('SendDataToDevice', { UserId: userId, DeviceId: deviceId, Data: data, ExpectResponse: expectResponse }),
    async close() {
      agent.destroy();
    },
  };
}
