/**
 * `serveReplay(recording, { port })`: the visualizer page over a flight
 * recording (`npx statewire replay <file>`; issue 17 §4). Each page has its
 * own place in the recording (a `ReplayCursor`) and moves it with
 * `{ action: 'seek', t }`, `play`, `pause` and `{ action: 'speed', speed }`:
 * a seek answers with a `hello` (the fleet, log and power at `t`), playback
 * with the same `batch`es a live page gets, each with the `timeline`.
 *
 * @example
 * ```ts
 * const replay = await serveReplay(await loadRecording('incident.ndjson'), { port: 4400 });
 * console.log(`replay at ${replay.url}`);
 * ```
 */
import { WebSocket, type RawData } from 'ws';
import * as check from '../machines/ports/check.js';
import { PageOutlet, startPageServer } from './page-server.js';
import { DEFAULT_POWER_THRESHOLDS } from './power.js';
import { ReplayCursor, ReplayIndex, type RecordingFile } from './replay.js';
import { LOG_PER_BATCH, POWER_PER_BATCH, pageOptions, parseMessage, type Visualizer, type VisualizerOptions } from './server.js';

export type ReplayOptions = Pick<VisualizerOptions, 'port' | 'host' | 'labels' | 'allowedOrigins' | 'maxPayload' | 'batchMs' | 'machine'>;

/** Playback speeds a page may ask for: from real time to a day in 10 s. */
const MAX_SPEED = 10_000;

export async function serveReplay(recording: RecordingFile, options: ReplayOptions = {}): Promise<Visualizer> {
  check.shape(recording, 'recording', { records: 'object', header: 'object' }, 'a recording (loadRecording(file))');
  check.object(options, 'options');
  const { port, host, allowedOrigins, maxPayload, batchMs, graph, chart, json, labels } = pageOptions(options);
  const index = new ReplayIndex(recording);
  const sessions = new Set<{ stop(): void }>();

  const page = await startPageServer({
    port,
    host,
    allowedOrigins,
    maxPayload,
    json,
    onConnection(ws) {
      const cursor = new ReplayCursor(index);
      let playing = false;
      let speed = 1;
      let timer: ReturnType<typeof setInterval> | undefined;
      const timeline = () => ({ start: recording.start, end: recording.end, t: cursor.t, playing, speed, file: recording.file });
      const picture = () => {
        const past = cursor.past();
        return {
          type: 'hello',
          mode: 'replay',
          graph,
          layout: chart.layout,
          labels,
          supervisor: { id: recording.header.supervisor, state: cursor.supervisor },
          thresholds: DEFAULT_POWER_THRESHOLDS,
          now: cursor.t,
          rows: cursor.model.all(),
          log: past.log,
          messages: [...past.power.map((reading) => ({ type: 'power', reading })), ...past.alarms.map((event) => ({ type: 'log', event }))],
          timeline: timeline(),
        };
      };
      // A page that stops reading gets nothing more until it catches up, then the picture at its place.
      const outlet = new PageOutlet(ws, picture, batchMs);
      const send = (msg: unknown) => outlet.send(msg);
      const hello = () => send(picture());
      const pause = () => {
        playing = false;
        if (timer !== undefined) clearInterval(timer);
        timer = undefined;
      };
      const tick = () => {
        const before = cursor.supervisor;
        const news = cursor.advance(cursor.t + batchMs * speed);
        if (cursor.t >= recording.end) pause();
        const { rows, removed } = cursor.model.take();
        const log = news.log.slice(-LOG_PER_BATCH);
        send({
          type: 'batch',
          now: cursor.t,
          rows,
          removed,
          ...(cursor.supervisor !== before ? { supervisor: { state: cursor.supervisor } } : {}),
          log,
          logDropped: news.log.length - log.length,
          alarms: news.alarms.slice(-LOG_PER_BATCH),
          power: news.power.slice(-POWER_PER_BATCH),
          timeline: timeline(),
        });
      };
      const session = {
        stop: () => {
          pause();
          outlet.close();
        },
      };
      sessions.add(session);
      ws.on('close', () => {
        pause();
        outlet.close();
        sessions.delete(session);
      });
      void chart.ready.then(() => {
        if (ws.readyState === WebSocket.OPEN) hello();
      });

      // Nothing is answered before the hello (the layout is ready): a seek then is answered after it, in order.
      ws.on('message', (data, isBinary) => void chart.ready.then(() => onMessage(data, isBinary)));
      const onMessage = (data: RawData, isBinary: boolean) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        const parsed = parseMessage(data, isBinary);
        const answer = (error: string) => send({ type: 'error', error });
        if (!parsed.ok) return answer(parsed.error);
        const { action, id, msg } = parsed;
        switch (action) {
          case 'seek': {
            const t = Object.hasOwn(msg, 't') ? msg.t : undefined;
            if (typeof t !== 'number' || !Number.isFinite(t)) return answer(`seek needs a time t (ms), got ${check.describe(t)}`);
            cursor.seek(t);
            return hello();
          }
          case 'play':
            if (cursor.t >= recording.end) {
              // From the start again: the page starts from the picture there (batches carry only what changes).
              cursor.seek(recording.start);
              hello();
            }
            if (!playing) {
              playing = true;
              timer = setInterval(tick, batchMs);
            }
            return send({ type: 'timeline', timeline: timeline() });
          case 'pause':
            pause();
            return send({ type: 'timeline', timeline: timeline() });
          case 'speed': {
            const s = Object.hasOwn(msg, 'speed') ? msg.speed : undefined;
            if (typeof s !== 'number' || !(s > 0 && s <= MAX_SPEED)) return answer(`speed must be a number within (0, ${MAX_SPEED}], got ${check.describe(s)}`);
            speed = s;
            return send({ type: 'timeline', timeline: timeline() });
          }
          case 'select':
            if (id === null || id === '') return;
            if (typeof id !== 'string' || !cursor.model.rows.has(id)) return answer(`id must be the id of a child or null, got ${check.describe(id)}`);
            return send({ type: 'history', id, events: cursor.history(id) });
          default:
            return answer(
              typeof action === 'string' && ['drop-link', 'tx-drop', 'disconnect', 'connect'].includes(action)
                ? 'this is a replay: it cannot send events to connections'
                : `action must be one of seek, play, pause, speed, select, got ${check.describe(action)}`,
            );
        }
      };
    },
  });
  return {
    url: page.url,
    port: page.port,
    async close() {
      for (const s of sessions) s.stop();
      sessions.clear();
      await page.close();
    },
  };
}
