/** Kenwood CAT codec: framing as an RxJS operator, and the pure format/parse helpers (issue 12, part 2). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { from, lastValueFrom, toArray } from 'rxjs';
import {
  catFrames, formatFrequency, formatInfo, formatMeter, formatMode, formatPower, formatPowerStatus, meterToWatts, modeDigit, modeName,
  parseFrequency, parseInfo, parseMeter, parseMode, parsePower, parsePowerStatus, wattsToMeter, type CatGarbage, type CatInfo,
} from '../../../../transports/serial/cat/codec.js';

const test = suite('cat codec');
const frames = (chunks: (string | Uint8Array)[], options?: Parameters<typeof catFrames>[0]) =>
  lastValueFrom(from(chunks).pipe(catFrames(options), toArray()));

test('framing: a frame split across chunks, several in one chunk, bytes or strings', async () => {
  assert.equal(await frames(['FA000140', '74000;MD2;PC', '100', ';']), ['FA00014074000', 'MD2', 'PC100']);
  assert.equal(await frames([Buffer.from('ID021;FV1.04;'), new Uint8Array([0x50, 0x53, 0x31, 0x3b])]), ['ID021', 'FV1.04', 'PS1']);
});

test('framing: strips only the terminator (spaces inside IF survive), skips empty frames, keeps the partial tail', async () => {
  assert.equal(await frames(['IF00014074000     +00000000002000000 ;', ';;', '?;', 'FA0001']), ['IF00014074000     +00000000002000000 ', '?']);
});

test('framing: a frame over the cap is dropped up to its terminator, across chunks, and reading resumes', async () => {
  const garbage: CatGarbage[] = [];
  const long = 'X'.repeat(20);
  const out = await frames([`MD1;${long}`, long, 'tail;FA00007074000;'], { maxFrameLength: 16, onGarbage: (g) => garbage.push(g) });
  assert.equal(out, ['MD1', 'FA00007074000']);
  assert.is(garbage.length, 1);
  assert.is(garbage[0]!.reason, 'too-long');
  assert.ok(garbage[0]!.text.length <= 16);
  // An over-long frame arriving whole in one chunk is dropped too.
  assert.equal(await frames([`${long};MD3;`], { maxFrameLength: 16 }), ['MD3']);
});

test('framing: binary noise is dropped (never thrown), frames around it survive', async () => {
  const garbage: CatGarbage[] = [];
  const noise = new Uint8Array([0x00, 0xff, 0x80, 0x3b, 0x4d, 0x44, 0x32, 0x3b]); // \0 ÿ € ; M D 2 ;
  assert.equal(await frames([noise], { onGarbage: (g) => garbage.push(g) }), ['MD2']);
  assert.equal(garbage.map((g) => g.reason), ['not-ascii']);
});

test('framing: bad options are a TypeError/RangeError naming them', () => {
  assert.throws(() => catFrames({ maxFrameLength: 1 }), (e: Error) => e instanceof RangeError && /options\.maxFrameLength/.test(e.message));
  assert.throws(() => catFrames({ maxFrameLength: 'x' as never }), (e: Error) => e instanceof TypeError && /options\.maxFrameLength/.test(e.message));
  assert.throws(() => catFrames({ onGarbage: 1 as never }), (e: Error) => e instanceof TypeError && /options\.onGarbage/.test(e.message));
});

test('FA/FB: 11 digits of Hz both ways; out of 30 kHz..60 MHz is a RangeError, not a number a TypeError', () => {
  assert.is(formatFrequency('A', 14_074_000), 'FA00014074000;');
  assert.is(formatFrequency('B', 30_000), 'FB00000030000;');
  assert.is(formatFrequency('A', 60_000_000), 'FA00060000000;');
  assert.is(parseFrequency('FA00014074000;'), 14_074_000);
  assert.is(parseFrequency('FB00007074000'), 7_074_000);
  assert.throws(() => formatFrequency('A', 29_999), (e: Error) => e instanceof RangeError && /^hz /.test(e.message));
  assert.throws(() => formatFrequency('A', 60_000_001), RangeError);
  assert.throws(() => formatFrequency('A', 14.5e6 + 0.5), RangeError);
  assert.throws(() => formatFrequency('A', '14074000' as never), TypeError);
  assert.throws(() => formatFrequency('C' as never, 14_074_000), (e: Error) => e instanceof TypeError && /^vfo /.test(e.message));
  for (const bad of ['FA123;', 'FA0001407400X;', 'MD2;', '', 42]) assert.throws(() => parseFrequency(bad as string), (e: Error) => e instanceof TypeError && /^answer /.test(e.message));
});

test('MD: digits 1..9 (not 8) and the mode names', () => {
  const names = { 1: 'LSB', 2: 'USB', 3: 'CW', 4: 'FM', 5: 'AM', 6: 'FSK', 7: 'CW-R', 9: 'FSK-R' } as const;
  for (const [digit, name] of Object.entries(names)) {
    assert.is(formatMode(name), `MD${digit};`);
    assert.is(parseMode(`MD${digit};`), name);
    assert.is(modeDigit(name), Number(digit));
    assert.is(modeName(digit), name);
  }
  assert.is(modeName(8), undefined);
  assert.is(modeName(0), undefined);
  assert.throws(() => formatMode('SSB' as never), (e: Error) => e instanceof TypeError && /^mode must be one of LSB, USB/.test(e.message));
  assert.throws(() => parseMode('MD8;'), TypeError);
  assert.throws(() => parseMode('MDX;'), TypeError);
});

test('PC: 3 digits, 5..100 W; negative, too high or fractional watts are refused', () => {
  assert.is(formatPower(5), 'PC005;');
  assert.is(formatPower(100), 'PC100;');
  assert.is(parsePower('PC050;'), 50);
  assert.throws(() => formatPower(-1), (e: Error) => e instanceof RangeError && /^watts /.test(e.message));
  assert.throws(() => formatPower(4), RangeError);
  assert.throws(() => formatPower(101), RangeError);
  assert.throws(() => formatPower(50.5), RangeError);
  assert.throws(() => formatPower(NaN), TypeError);
  assert.throws(() => parsePower('PC50;'), TypeError);
});

test('SM0: the TS-590 meter table exactly at its points, linear in between, and the inverse', () => {
  const table = [[0, 0], [3, 5], [6, 10], [8, 15], [12, 25], [17, 50], [30, 100]] as const;
  for (const [meter, watts] of table) {
    assert.is(meterToWatts(meter), watts);
    assert.is(wattsToMeter(watts), meter);
  }
  assert.is(meterToWatts(1.5), 2.5);
  assert.is(meterToWatts(10), 20);
  assert.ok(Math.abs(meterToWatts(23.5) - 75) < 1e-9);
  assert.is(wattsToMeter(20), 10);
  assert.is(parseMeter('SM00012;'), 12);
  assert.is(formatMeter(30), 'SM00030;');
  assert.throws(() => meterToWatts(-1), RangeError);
  assert.throws(() => meterToWatts(31), RangeError);
  assert.throws(() => wattsToMeter(-0.1), (e: Error) => e instanceof RangeError && /^watts /.test(e.message));
  assert.throws(() => parseMeter('SM00031;'), TypeError);
  assert.throws(() => parseMeter('SM1;'), TypeError);
});

test('PS: on and off', () => {
  assert.is(formatPowerStatus(true), 'PS1;');
  assert.is(formatPowerStatus(false), 'PS0;');
  assert.is(parsePowerStatus('PS1;'), true);
  assert.is(parsePowerStatus('PS0'), false);
  assert.throws(() => formatPowerStatus(1 as never), (e: Error) => e instanceof TypeError && /^on /.test(e.message));
  assert.throws(() => parsePowerStatus('PS2;'), TypeError);
});

test('IF: a 38-character answer decoded field by field at the reference offsets', () => {
  // IF, P1 frequency (2-12), P2 spaces (13-17), P3 RIT/XIT (18-22), P4 RIT (23), P5 XIT (24), P6+P7 memory (25-27),
  // P8 TX (28), P9 mode (29), P10 VFO (30), P11 scan (31), P12 split (32), P13 tone (33), P14 tone number (34-35), P15 (36), ';' (37)
  const answer = ['IF', '00007074500', '     ', '-0120', '1', '0', '020', '1', '3', '1', '0', '1', '2', '08', '0', ';'].join('');
  assert.is(answer.length, 38);
  assert.equal(parseInfo(answer), {
    frequency: 7_074_500,
    ritXitOffset: -120,
    rit: true,
    xit: false,
    memoryChannel: 20,
    transmitting: true,
    mode: 'CW',
    vfo: 'B',
    scanning: false,
    split: true,
    tone: 'ctcss',
    toneNumber: 8,
  });
});

test('IF: formatInfo is parseInfo\'s inverse; malformed answers are a TypeError naming answer', () => {
  const info: CatInfo = {
    frequency: 14_074_000, ritXitOffset: 50, rit: false, xit: true, memoryChannel: 0, transmitting: false, mode: 'USB',
    vfo: 'A', scanning: false, split: false, tone: 'off', toneNumber: 0,
  };
  const text = formatInfo(info);
  assert.is(text, ['IF', '00014074000', '     ', '+0050', '0', '1', '000', '0', '2', '0', '0', '0', '0', '00', '0', ';'].join(''));
  assert.is(text.length, 38);
  assert.equal(parseInfo(text), info);
  for (const bad of ['IF00014074000;', `${text.slice(0, 29)}8${text.slice(30)}`, text.replace('     ', '00000'), 'FA00014074000;']) {
    assert.throws(() => parseInfo(bad), (e: Error) => e instanceof TypeError && /^answer must be a 38-character IF answer/.test(e.message));
  }
  assert.throws(() => formatInfo({ ...info, ritXitOffset: 10_000 }), (e: Error) => e instanceof RangeError && /info\.ritXitOffset/.test(e.message));
  assert.throws(() => formatInfo({ ...info, mode: 'SSB' as never }), (e: Error) => e instanceof TypeError && /^mode /.test(e.message));
});

test.run();
