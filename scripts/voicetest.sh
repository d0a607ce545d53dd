#!/bin/sh
# voicetest.sh regenerates the measurements of docs/secure-voice.md: it
# speaks twelve Harvard sentences with several espeak-ng voices, converts
# them to 8 kHz mono 16-bit with sox (no dither, so runs repeat; peak at
# -6 dBFS, the headroom docs/scrambler.md asks for), runs `hushbox voicetest` on each (scramble,
# G.711 mu-law, 0/1/5 % packet loss with repeat concealment, descramble)
# and rewrites the table between the voicetest markers of
# docs/secure-voice.md and the figure docs/img/voicetest-spectrogram.png.
#
# Needs: go, espeak-ng, sox. Usage: scripts/voicetest.sh
# (HUSHBOX=path/to/hushbox uses that binary instead of building one.)
set -eu
cd "$(dirname "$0")/.."
for tool in go espeak-ng sox; do
	command -v "$tool" >/dev/null || { echo "voicetest.sh: $tool not found" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
if [ -n "${HUSHBOX:-}" ]; then
	cp "$HUSHBOX" "$work/hushbox" # a prebuilt binary
else
	go build -o "$work/hushbox" ./cmd/hushbox
fi

# voice|sentence (IEEE 1969 "Harvard" sentences, lists 1 and 2)
cat >"$work/sentences" <<'LIST'
en-us|The birch canoe slid on the smooth planks.
en-gb|Glue the sheet to the dark blue background.
en-us+f3|It's easy to tell the depth of a well.
en-gb-scotland|These days a chicken leg is a rare dish.
en-gb-x-rp+f2|Rice is often served in round bowls.
en-029|The juice of lemons makes fine punch.
en-us+m3|The box was thrown beside the parked truck.
en-gb+f4|The hogs were fed chopped corn and garbage.
en-gb-x-gbclan|Four hours of steady work faced us.
en-us+f1|A large size in stockings is hard to sell.
en-gb-x-gbcwmd|The boy was there when the sun rose.
en-us+m7|A rod is used to catch pink salmon.
LIST

rows="$work/rows.md"
: >"$rows"
i=0
while IFS='|' read -r voice text; do
	i=$((i + 1))
	espeak-ng -v "$voice" -w "$work/raw$i.wav" "$text"
	sox -D "$work/raw$i.wav" -r 8000 -c 1 -b 16 "$work/s$i.wav" norm -6
	"$work/hushbox" voicetest --png-dir - --markdown "$i | $voice | $text" "$work/s$i.wav" >>"$rows"
done <"$work/sentences"

mkdir -p docs/img
"$work/hushbox" voicetest --png-dir "$work/png" "$work/s1.wav" >/dev/null
cp "$work/png/figure.png" docs/img/voicetest-spectrogram.png

table="$work/table.md"
{
	echo "| # | voice | sentence | segSNR dB, 0 % loss (G.711 alone) | STOI 0 % (G.711 alone) | STOI 1 % (G.711 alone) | STOI 5 % (G.711 alone) | STOI scrambled | STOI noise control | STOI leak control |"
	echo "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	cat "$rows"
} >"$table"

doc=docs/secure-voice.md
awk -v table="$table" '
	/<!-- voicetest:begin -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
	/<!-- voicetest:end -->/ { skip = 0 }
	!skip { print }
' "$doc" >"$work/doc.md"
cp "$work/doc.md" "$doc"
echo "voicetest.sh: updated $doc and docs/img/voicetest-spectrogram.png"
cat "$table"
