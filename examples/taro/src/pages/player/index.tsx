/**
 * Polyv encrypted playback: PolyvPlayer gets the play info and a disposable token from the AppServer
 * (/api/polyv/*; the secret key stays there) and hands `<Video>` a tokenised m3u8. On a `<Video>` error it
 * recovers once with a fresh token.
 */
import { Button, Input, Text, Video, View } from '@tarojs/components';
import { useUnload } from '@tarojs/taro';
import { useRef, useState } from 'react';
import { MediaKitError, PolyvPlayer } from 'mp-media-sdk';
import { adapter, appClient } from '../../services/sdk';

export default function PlayerPage() {
  const player = useRef(new PolyvPlayer({ appClient, adapter }));
  const [vid, setVid] = useState('');
  const [src, setSrc] = useState('');
  const [title, setTitle] = useState('');
  const [error, setError] = useState('');
  useUnload(() => player.current.destroy());

  const play = async () => {
    setError('');
    try {
      const source = await player.current.load(vid.trim());
      setTitle((player.current.info && player.current.info.title) || vid);
      setSrc(source.src);
    } catch (e) {
      setError(e instanceof MediaKitError ? `${e.code}: ${e.message}` : String(e));
    }
  };

  const recover = async () => {
    try {
      const source = await player.current.recover(player.current.currentTime);
      setSrc(source.src);
    } catch (e) {
      setError(e instanceof MediaKitError ? `${e.code}: ${e.message}` : String(e));
    }
  };

  return (
    <View className='card'>
      <Input placeholder='Polyv vid' value={vid} onInput={(e) => setVid(e.detail.value)} />
      <Button type='primary' onClick={play}>播放</Button>
      {title ? <Text>{title}</Text> : null}
      {src ? (
        <Video
          src={src}
          autoplay
          onPlay={() => player.current.markPlaying()}
          onTimeUpdate={(e) => player.current.updatePosition(e.detail.currentTime)}
          onError={recover}
        />
      ) : null}
      {error ? <Text className='error'>{error}</Text> : null}
    </View>
  );
}
