// The replay timeline (issue 17 §4), shown when the page is served by
// `statewire replay <file>`: scrub (the range), play and pause, speed. The
// server holds the recording and answers each move with the fleet at that time.

const $ = (id) => document.getElementById(id);
const stamp = (t) => new Date(t).toISOString().replace('T', ' ').slice(0, 23);

/** @param {{ send(msg: object): void }} deps */
export function createTimeline({ send }) {
  const range = $('timeline');
  let dragging = false;
  let last = 0;
  let pendingSeek;

  // While dragging, at most one seek per 100 ms (the last position always goes).
  const seek = (final) => {
    const t = Number(range.value);
    clearTimeout(pendingSeek);
    const wait = final ? 0 : Math.max(0, last + 100 - Date.now());
    pendingSeek = setTimeout(() => {
      last = Date.now();
      send({ action: 'seek', t });
    }, wait);
  };
  range.addEventListener('input', () => {
    dragging = true;
    $('t-label').textContent = stamp(Number(range.value));
    seek(false);
  });
  range.addEventListener('change', () => {
    dragging = false;
    seek(true);
  });
  $('play').onclick = () => send({ action: $('play').dataset.playing === 'true' ? 'pause' : 'play' });
  $('speed').onchange = () => send({ action: 'speed', speed: Number($('speed').value) });

  return {
    render(view) {
      const tl = view.timeline;
      $('timeline-panel').hidden = view.mode !== 'replay' || !tl;
      if (!tl) return;
      range.min = String(tl.start);
      range.max = String(tl.end);
      if (!dragging) range.value = String(tl.t);
      range.dataset.t = String(tl.t);
      $('t-label').textContent = `${stamp(dragging ? Number(range.value) : tl.t)} (${((tl.t - tl.start) / 1000).toFixed(1)} s of ${((tl.end - tl.start) / 1000).toFixed(1)} s)`;
      $('play').textContent = tl.playing ? 'pause' : 'play';
      $('play').dataset.playing = String(tl.playing);
      if ($('speed').value !== String(tl.speed)) {
        if (![...$('speed').options].some((o) => o.value === String(tl.speed))) $('speed').append(new Option(`${tl.speed}×`, String(tl.speed)));
        $('speed').value = String(tl.speed);
      }
      if (tl.file) $('t-file').textContent = tl.file;
    },
  };
}
