/**
 * What the IoT pages tell a user when something fails: Chinese, no error identifiers. The SDK's typed error keeps
 * its code for developers (the device page shows it in 调试).
 */
import { IoTError, MediaKitError, PlatformErrorCode } from 'mp-media-sdk';

const NETWORK = new Set<string>([PlatformErrorCode.Network, PlatformErrorCode.Timeout, PlatformErrorCode.Interrupted]);

export function iotUserText(e: unknown): string {
  if (e instanceof IoTError) return e.message;
  if (e instanceof MediaKitError) {
    if (NETWORK.has(e.code)) return '网络连接失败，请检查网络后重试';
    if (e.code === PlatformErrorCode.DomainNotAllowed) return '服务器地址未加入小程序合法域名';
  }
  return '出了点问题，请稍后重试';
}
