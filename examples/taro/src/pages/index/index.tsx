/**
 * Upload to Aliyun VOD with progress and cancel: VODUpload (the official SDK's API) with UploadAuth credentials from
 * the AppServer (POST /api/vod/upload-video; the AccessKey never reaches the app).
 */
import { Button, Progress, Text, View } from '@tarojs/components';
import Taro, { useUnload } from '@tarojs/taro';
import { useRef, useState } from 'react';
import VODUpload, { MediaKitError, VODUploadAuthResult, VODUploadInfo } from 'mp-media-sdk';
import { adapter, appClient } from '../../services/sdk';

interface Item {
  name: string;
  percent: number;
  state: string;
  result: string;
  error: string;
}

export default function UploadPage() {
  const [items, setItems] = useState<Item[]>([]);
  const patch = (name: string, p: Partial<Item>) => setItems((list) => list.map((it) => (it.name === name ? { ...it, ...p } : it)));

  const uploader = useRef<VODUpload>();
  if (!uploader.current) {
    uploader.current = new VODUpload({
      userId: 'taro-example',
      adapter,
      getUploadAuth: (info: VODUploadInfo) =>
        appClient.call<VODUploadAuthResult>('POST', '/api/vod/upload-video', info.videoId ? { videoId: info.videoId } : { title: info.file.name, fileName: info.file.name, fileSize: info.fileSize }),
      onUploadstarted: (info) => patch(info.file.name, { state: '上传中' }),
      onUploadProgress: (info, _total, progress) => patch(info.file.name, { percent: Math.floor(progress * 100) }),
      onUploadSucceed: (info) => patch(info.file.name, { state: '已完成', percent: 100, result: info.videoId || '' }),
      onUploadFailed: (info, code, message) => patch(info.file.name, { state: '失败', error: `${code}: ${message}` }),
      onUploadCanceled: (info) => patch(info.file.name, { state: '已取消' }),
    });
  }
  useUnload(() => uploader.current && uploader.current.stopUpload());

  const choose = async () => {
    try {
      const { tempFiles } = await Taro.chooseMedia({ count: 3, mediaType: ['video'], sourceType: ['album', 'camera'] });
      const up = uploader.current!;
      const added: Item[] = [];
      for (const f of tempFiles) {
        const name = f.tempFilePath.split('/').pop() || f.tempFilePath;
        if (up.addFile({ url: f.tempFilePath, name })) added.push({ name, percent: 0, state: '等待中', result: '', error: '' });
      }
      setItems((list) => [...list, ...added]);
      up.startUpload();
    } catch (e) {
      if (e instanceof MediaKitError) Taro.showToast({ title: e.code, icon: 'error' });
      // else: the user closed the picker
    }
  };

  const cancelAll = () => uploader.current!.listFiles().forEach((_f, i) => uploader.current!.cancelFile(i));

  return (
    <View>
      <View className='card'>
        <Button type='primary' onClick={choose}>选择视频并上传</Button>
        <Button onClick={cancelAll}>全部取消</Button>
        <Text className='meta'>AppServer: {appClient.baseUrl} · adapter: {adapter.name}</Text>
      </View>
      {items.map((it) => (
        <View className='card' key={it.name}>
          <View className='row'>
            <Text>{it.name}</Text>
            <Text className='meta'>{it.state}</Text>
          </View>
          <Progress percent={it.percent} showInfo strokeWidth={4} activeMode='forwards' active />
          {it.result ? <Text className='meta'>VideoId {it.result}</Text> : null}
          {it.error ? <Text className='error'>{it.error}</Text> : null}
        </View>
      ))}
    </View>
  );
}
