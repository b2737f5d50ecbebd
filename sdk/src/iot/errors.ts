/**
 * IoT Video error codes: every code in the seed's tables (server, P2P, message, connection, player, download,
 * device ACK, net-config) plus the value-added-service code 10010 ("no records") and the user-property code 8605.
 * Each code has its IoTVideo name, the Chinese message the pages show, and a category:
 *   retryable — try again (later / after reconnecting); auth — the user may not do this (relationship, token);
 *   device — the device or its storage failed; user — the caller's input or usage is wrong.
 */
import { MediaKitError } from '../errors';

export type IoTErrorCategory = 'retryable' | 'auth' | 'device' | 'user';
export type IoTErrorGroup = 'server' | 'vas' | 'p2p' | 'message' | 'connection' | 'player' | 'download' | 'ack' | 'netcfg';

export interface IoTErrorInfo {
  code: number;
  name: string;
  message: string;
  category: IoTErrorCategory;
  group: IoTErrorGroup;
}

type Row = [number, string, string, IoTErrorCategory];

const rows: Array<[IoTErrorGroup, Row[]]> = [
  [
    'server',
    [
      [8000, 'IVASrvErr_dst_offline', '目标离线', 'device'],
      [8002, 'IVASrvErr_dst_notexsit', '目标不存在', 'user'],
      [8003, 'IVASrvErr_dst_error_relation', '非法关系链', 'auth'],
      [8022, 'IVASrvErr_binderror_dev_usr_has_bind', '设备已经绑定此用户', 'user'],
      [8023, 'IVASrvErr_binderror_dev_has_bind_other', '设备已经绑定其他用户', 'auth'],
      [8024, 'IVASrvErr_binderror_customer_diffrent', '设备的客户ID与用户的客户ID不一致', 'auth'],
      // From the seed's 消息管理 § 5.1 (the name is ours; the seed gives only the number).
      [8605, 'IVCSrvErr_proUser_builtin_name', '用户自定义属性名不能以“_”开头（“_”为内置物模型使用）', 'user'],
    ],
  ],
  // The value-added-service "no records" code (the iOS demo treats it as an empty result, not a failure).
  ['vas', [[10010, 'IVVASErr_no_records', '没有记录', 'user']]],
  [
    'p2p',
    [
      [20001, 'IVTermErr_msg_send_peer_timeout', '消息发送给对方超时', 'retryable'],
      [20002, 'IVTermErr_msg_calling_dev_hangup', '普通挂断，即设备端主动断开，APP可尝试重连', 'retryable'],
      [20003, 'IVTermErr_msg_calling_send_timeout', 'calling消息发送超时', 'retryable'],
      [20004, 'IVTermErr_msg_calling_no_srv_addr', '服务器未分配转发地址，APP可尝试重连', 'retryable'],
      [20005, 'IVTermErr_msg_calling_handshake_timeout', '握手超时，APP可尝试重连', 'retryable'],
      [20006, 'IVTermErr_msg_calling_token_error', '设备端token校验失败', 'auth'],
      [20007, 'IVTermErr_msg_calling_all_chn_busy', '监控通道数满', 'retryable'],
      [20008, 'IVTermErr_msg_calling_timeout_disconnect', '超时断开，APP可尝试重连', 'retryable'],
      [20009, 'IVTermErr_msg_calling_no_find_dst_id', '未找到目的id', 'device'],
      [20010, 'IVTermErr_msg_calling_check_token_error', 'token校验出错', 'auth'],
      [20011, 'IVTermErr_msg_calling_dev_is_disable', '设备已经禁用', 'device'],
      [20012, 'IVTermErr_msg_calling_duplicate_call', '重复呼叫', 'user'],
      [20013, 'IVTermErr_msg_calling_caller_hungup', '连接过程中主动断开', 'user'],
      [20014, 'IVTermErr_msg_calling_relation_modify', '关系链变更导致的断开', 'auth'],
      [20015, 'IVTermErr_msg_access_lib_not_init', '接入库未初始化', 'user'],
      [20016, 'IVTermErr_msg_lan_calling_not_allow', '纯局域网下密码错误或者未进行密码校验', 'auth'],
      [20017, 'IVTermErr_msg_calling_no_relation', 'APP与设备不存在关系链', 'auth'],
      [20018, 'IVTermErr_msg_calling_no_online', 'APP还没上线，稍后再试', 'retryable'],
      [20100, 'IVTermErr_msg_gdm_handle_processing', '设备正在处理中', 'retryable'],
      [20101, 'IVTermErr_msg_gdm_handle_leaf_path_error', '设备端校验叶子路径非法', 'user'],
      [20102, 'IVTermErr_msg_gdm_handle_parse_json_fail', '设备端解析JSON出错', 'user'],
      [20103, 'IVTermErr_msg_gdm_handle_fail', '设备处理ACtion失败', 'device'],
      [20104, 'IVTermErr_msg_gdm_handle_no_cb_registered', '设备未注册相应的ACtion回调函数', 'device'],
      [20105, 'IVTermErr_msg_gdm_handle_buildin_prowritable_error', '设备不允许通过局域网修改内置可写对象', 'device'],
      [20135, 'IVTermErr_msg_saas_hungup_code_invalid', '设备saas层挂断但是错误码给的超过范围', 'device'],
      [20136, 'IVTermErr_msg_wait_option_timeout_hangup', '下载文件过程中，设备SDK等待新的操作超时导致挂断', 'retryable'],
      [20137, 'IVTermErr_msg_find_record_file_fail', '查找指定的回放文件失败导致播放失败，存储介质被移除、录像文件不存在，无法打开', 'device'],
      [20138, 'IVTermErr_msg_read_record_file_fail', '读取指定的回放文件失败导致播放失败, 中途被移除、无视频帧文件不合法、不可读、内存申请失败', 'device'],
      [20140, 'IVTermErr_msg_user_cmd_internal_error', '设备端内部处理错误', 'device'],
      [20141, 'IVTermErr_msg_user_cmd_type_error', '不支持的 user cmd 类型', 'user'],
      [20142, 'IVTermErr_msg_user_cmd_version_error', '不支持的 user cmd 版本', 'user'],
      [20143, 'IVTermErr_msg_user_cmd_param_error', 'user cmd 参数超出范围', 'user'],
      [20145, 'IVTermErr_msg_user_cmd_option_mismatch', '操作和状态不匹配，比如对讲已经开启但是又开启', 'user'],
      [20146, 'IVTermErr_msg_user_cmd_saas_err_invalid', 'saas层返回的错误码超过范围', 'device'],
    ],
  ],
  [
    'message',
    [
      [21000, 'IVMessageError_duplicate', '消息重复/正在发送', 'retryable'],
      [21001, 'IVMessageError_sendFailed', '消息发送失败', 'retryable'],
      [21002, 'IVMessageError_timeout', '消息响应超时', 'retryable'],
      [21003, 'IVMessageError_GetGdmDataErr', '获取物模型失败', 'retryable'],
      [21004, 'IVMessageError_RcvGdmDataErr', '接收物模型失败', 'retryable'],
      [21005, 'IVMessageError_SendPassSrvErr', '透传数据给服务器失败', 'retryable'],
      [21006, 'IVMessageError_SendPassDevErr', '透传数据给设备失败', 'retryable'],
      [21007, 'IVMessageError_NotFoundCallback', '没有找到回调/已超时', 'retryable'],
      [21008, 'IVMessageError_ExceedsMaxLength', '消息长度超出上限(MAX_DATA_SIZE)', 'user'],
    ],
  ],
  [
    'connection',
    [
      [21020, 'IVConnError_ExceedsMaxNumber', '连接通道已达上限(MAX_CONNECTION_NUM)', 'user'],
      [21021, 'IVConnError_Duplicate', '连接通道已存在', 'user'],
      [21022, 'IVConnError_ConnectFailed', '建立连接失败', 'retryable'],
      [21023, 'IVConnError_Disconnected', '连接已断开/未连接', 'retryable'],
      [21024, 'IVConnError_ExceedsMaxLength', '数据长度超出上限(MAX_PKG_BYTES)', 'user'],
      [21025, 'IVConnError_NotAvailableNow', '当前连接暂不可用/SDK离线', 'retryable'],
      [21026, 'IVConnError_SendDataFailed', '发送用户数据失败', 'retryable'],
    ],
  ],
  [
    'player',
    [
      [21030, 'IVPlayerError_NoRespondsToSelector', '方法选择器无响应、未实现协议方法', 'user'],
      [21031, 'IVPlayerError_InvalidParameter', '参数错误', 'user'],
      [21032, 'IVPlayerError_PlaybackListEmpty', '录像列表为空', 'user'],
      [21033, 'IVPlayerError_PlaybackDataErr', '录像列表数据异常', 'device'],
      [21034, 'IVPlayerError_RecorderIsRunning', '正在录制', 'user'],
      [21035, 'IVPlayerError_VideoResolutionChanged', '视频分辨率已改变', 'device'],
      [21036, 'IVPlayerError_EncoderNotAvailableNow', '编码器暂不可用', 'device'],
      [21037, 'IVPlayerError_PlaybackListVerErr', '不支持的录像列表版本', 'device'],
      [21038, 'IVPlayerError_DeviceOperationFailed', '设备端操作失败', 'device'],
      [21039, 'IVPlayerError_RecorderNotAvailableNow', '录制器暂不可用', 'device'],
      [21040, 'IVPlayerError_OperationNotAllowedNow', '当前状态下不允许该操作', 'user'],
      [21041, 'IVPlayerError_AVInformationAbnormal', '音视频信息相关参数异常', 'device'],
    ],
  ],
  [
    'download',
    [
      [21060, 'IVDownloadError_DownloaderBusy', '下载器正忙，若要下载其他文件，请先暂停当前任务', 'user'],
      [21061, 'IVDownloadError_FileUnavailable', '文件读取失败，文件被删除、存储设备拔出', 'device'],
      [21062, 'IVDownloadError_IncorrectOffset', '断点续传offset大于文件大小fileSize', 'user'],
      [21063, 'IVDownloadError_FileOpenFailed', '打开文件失败，文件权限、文件被删除、存储设备拔出', 'device'],
      [21064, 'IVDownloadError_FileNotFound', '找不到文件，文件被删除，存储设备拔出', 'device'],
      [21065, 'IVDownloadError_ProcessExited', '设备程序/模块退出、无法继续传输', 'retryable'],
      [21070, 'IVDownloadError_DataSizeAbnormal', '接收的数据大小不等于文件总大小', 'retryable'],
      [21071, 'IVDownloadError_DevUnknownError', '设备端发生未知错误', 'device'],
      [21072, 'IVDownloadError_DevNoResponse', '设备端无响应（如固件版本未支持下载，网络故障、程序故障）', 'device'],
    ],
  ],
  [
    'ack',
    [
      [21080, 'IVAckErr_NotSupport', '设备端不支持该命令', 'device'],
      [21081, 'IVAckErr_ParameterErr', '设备端判定参数错误', 'user'],
      [21082, 'IVAckErr_UnknownErr', '设备端发生未知错误', 'device'],
      [21083, 'IVAckErr_NoResponse', '设备端无响应(如固件版本未支持，网络故障、程序故障)', 'retryable'],
      [21084, 'IVAckErr_DeviceBusy', '设备端正在处理指令，不接受新的指令', 'retryable'],
    ],
  ],
  [
    'netcfg',
    [
      [21100, 'IVNetCfgErr_GetTokenErr', '获取Token失败', 'retryable'],
      [21101, 'IVNetCfgErr_TokenExpired', 'Token已过期', 'auth'],
      [21102, 'IVNetCfgErr_DevStatusErr', '设备非可绑定状态', 'device'],
      [21103, 'IVNetCfgErr_ServerErr', '服务器报错', 'retryable'],
    ],
  ],
];

/** code → {code, name, message, category, group}, for every code in the seed's tables. */
export const IOT_ERROR_TABLE: Readonly<Record<number, IoTErrorInfo>> = (() => {
  const t: Record<number, IoTErrorInfo> = {};
  for (const [group, list] of rows) {
    for (const [code, name, message, category] of list) t[code] = { code, name, message, category, group };
  }
  return Object.freeze(t);
})();

/** The seed's 公共错误码 ranges, for codes missing from the tables (newer devices/SDKs). */
export const IOT_ERROR_RANGES: ReadonlyArray<{ from: number; to: number; description: string; category: IoTErrorCategory }> = [
  { from: 8000, to: 8499, description: 'Asrv错误', category: 'device' },
  { from: 8500, to: 8699, description: 'Csrv错误(对接Asrv)', category: 'device' },
  { from: 8799, to: 9999, description: '预留错误', category: 'device' },
  { from: 10000, to: 10999, description: '通用错误', category: 'user' },
  { from: 11000, to: 11999, description: '产品/设备相关错误', category: 'device' },
  { from: 12000, to: 12999, description: '用户相关错误', category: 'auth' },
  { from: 13000, to: 13999, description: '客户相关错误', category: 'auth' },
  { from: 14000, to: 14999, description: '云存相关错误', category: 'device' },
  { from: 15000, to: 15999, description: 'UPG相关错误', category: 'device' },
  { from: 16000, to: 16999, description: '帮助中心错误', category: 'user' },
  { from: 17000, to: 17999, description: '第三方调用错误', category: 'retryable' },
  { from: 20000, to: 20150, description: 'P2P错误part1', category: 'device' },
  { from: 20151, to: 20199, description: '客户自定义错误', category: 'device' },
  { from: 20200, to: 20999, description: 'P2P错误part2', category: 'device' },
  { from: 21000, to: 21999, description: 'iOS SDK错误', category: 'user' },
  { from: 22000, to: 22999, description: 'Android SDK错误', category: 'user' },
  { from: 23000, to: 23999, description: 'PC SDK错误', category: 'user' },
  { from: 24000, to: 24999, description: 'DEV SDK错误', category: 'device' },
];

/** The table entry for a code, or a generic entry built from its range (name `IVErr_<code>`). */
export function describeIoTError(code: number, serverMsg?: string): IoTErrorInfo {
  const known = IOT_ERROR_TABLE[code];
  if (known) return known;
  const range = IOT_ERROR_RANGES.find((r) => code >= r.from && code <= r.to);
  return {
    code,
    name: `IVErr_${code}`,
    message: serverMsg || (range ? `${range.description}（${code}）` : `未知错误（${code}）`),
    category: range ? range.category : 'device',
    group: code >= 20000 && code < 21000 ? 'p2p' : 'server',
  };
}

/** Local validation failures (before any request) use this MediaKitError code. */
export const IOT_INVALID_PARAMETER = 'IOT_INVALID_PARAMETER';

/**
 * An IoT Video error with its numeric code. `code` is `IOT_<number>` (MediaKitError codes are strings), `iotCode`
 * the number, `message` the table's Chinese message, `serverMsg` what the server said.
 */
export class IoTError extends MediaKitError {
  readonly iotCode: number;
  readonly iotName: string;
  readonly category: IoTErrorCategory;
  readonly retryable: boolean;
  readonly serverMsg?: string;
  constructor(iotCode: number, serverMsg?: string, details: Record<string, unknown> = {}) {
    const info = describeIoTError(iotCode, serverMsg);
    super(`IOT_${iotCode}`, info.message, { ...details, iotCode, serverMsg });
    this.name = 'IoTError';
    this.iotCode = iotCode;
    this.iotName = info.name;
    this.category = info.category;
    this.retryable = info.category === 'retryable';
    this.serverMsg = serverMsg;
  }
}

export function isIoTError(e: unknown, iotCode?: number): e is IoTError {
  return e instanceof IoTError && (iotCode === undefined || e.iotCode === iotCode);
}

/** What a page shows for any error: the table's Chinese message for IoT codes, else the error's own message. */
export function iotErrorText(e: unknown): string {
  if (e instanceof IoTError) return `${e.message}（${e.iotCode}）`;
  if (e instanceof MediaKitError) return `${e.message}（${e.code}）`;
  return e instanceof Error ? e.message : String(e);
}
