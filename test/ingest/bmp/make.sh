#!/usr/bin/env bash
# Regenerates the BMP fixtures of test/ingest/bmp.test.ts with Debian's ImageMagick 6 (an encoder
# independent of ingest/bmp.ts): apt-get install -y imagemagick. Each X.bmp gets X.png, the same
# pixels as ImageMagick itself reads them back: the test's oracle.
set -euo pipefail
cd "$(dirname "$0")"
C=/usr/bin/convert # Debian's, not a wrapper earlier in PATH
# 13x7: odd width, so every row is padded; a gradient blend, a white and a black corner.
$C -size 13x7 gradient:red-blue \( -size 13x7 gradient:yellow-green -rotate 90 -resize '13x7!' \) \
  -compose blend -define compose:args=50 -composite \
  -fill white -draw 'point 0,0' -fill black -draw 'point 12,6' src.png
# With alpha: half-transparent red, opaque blue, the rest transparent.
$C -size 13x7 xc:none -fill 'rgba(255,0,0,0.5)' -draw 'rectangle 0,0 6,6' \
  -fill 'rgba(0,0,255,1)' -draw 'rectangle 7,0 12,3' srca.png
$C src.png BMP3:rgb24.bmp                                   # 40-byte header, 24-bit
$C src.png BMP:rgb24-v5.bmp                                 # V5 header, 24-bit
$C src.png BMP2:rgb24-os2.bmp                               # OS/2 12-byte core header
$C src.png -colors 200 -type Palette -compress none BMP3:pal8.bmp
$C src.png -colors 200 -type Palette BMP3:pal8-rle.bmp      # ImageMagick's default: RLE8
$C src.png -colors 12 -compress none BMP3:pal4.bmp          # 4-bit palette
$C src.png -monochrome BMP3:pal1.bmp                        # 1-bit palette
$C src.png -define bmp:subtype=RGB565 BMP:rgb565.bmp        # BI_BITFIELDS 16-bit
$C src.png -define bmp:subtype=RGB555 BMP:rgb555.bmp
$C srca.png BMP:argb32.bmp                                  # BI_BITFIELDS 32-bit with alpha
$C srca.png -define bmp:subtype=ARGB4444 BMP:argb4444.bmp   # BI_BITFIELDS 16-bit with alpha
$C srca.png -define bmp3:alpha=true BMP3:rgba32-bi-rgb.bmp  # BI_RGB 32-bit, 4th byte alpha
for f in *.bmp; do $C "$f" "PNG32:${f%.bmp}.png"; done
rm src.png srca.png
