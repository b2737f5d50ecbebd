#!/bin/sh
# Progressive MP4 renditions of clip-6s for the local VOD's download samples (run once; outputs are committed).
# Remuxed (no re-encode) from the committed TS segments, so the MP4s carry exactly the same H.264/AAC samples;
# +faststart puts the moov first, as VOD's transcoder does for mp4 outputs.
set -e
cd "$(dirname "$0")"
for R in 180p 270p; do
  ffmpeg -y -loglevel error -i "$R/index.m3u8" -c copy -bsf:a aac_adtstoasc -movflags +faststart -map_metadata -1 -fflags +bitexact "$R.mp4"
done
