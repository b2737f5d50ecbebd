/**
 * The local cloud's built-in development account. Both the local cloud (to verify signatures) and the AppServer
 * (to make them) default to these, so `npm start` works offline with no configuration. They open nothing but the
 * local cloud on this machine. Real credentials come only from the environment (see README "Point at real clouds").
 */
export const DEV_CREDENTIALS = {
  wechat: { appId: 'wxlocaldev00000000', secret: 'local-dev-wechat-secret' },
  aliyun: {
    accountId: '1234567890123456',
    accessKeyId: 'LTAIlocaldevkey0000',
    accessKeySecret: 'local-dev-aliyun-secret-0000000000',
    roleArn: 'acs:ram::1234567890123456:role/vod-upload-local',
  },
  polyv: { userId: 'localdev01', secretKey: 'local-dev-polyv-secret', appId: 'localdevapp', appSecret: 'local-dev-polyv-app-secret' },
  tencent: { secretId: 'AKIDlocaldev000000000000', secretKey: 'local-dev-tencent-secret-000000' },
} as const;
