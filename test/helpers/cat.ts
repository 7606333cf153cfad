/** The CAT client's round-trip script against the TS-590S emulator, the same over SerialPortMock and over a pty. */
import * as assert from 'uvu/assert';
import type { CatClient } from '../../transports/serial/cat/cat-client.js';
import type { RigEmulator } from '../../transports/serial/cat/rig-emulator.js';

/**
 * Frequency, mode, PC, PTT, the SM0 meter in watts, PS and IF, each read
 * back. A set gets no answer (it resolves once written), so the rig's own
 * state is checked after a read that follows it: by then the rig read the set.
 */
export async function catRoundTrips(client: CatClient, rig: RigEmulator): Promise<void> {
  assert.is(await client.getFrequency(), 14_074_000);
  await client.setFrequency(7_074_000);
  assert.is(await client.getFrequency(), 7_074_000);
  assert.is(rig.state().frequencyA, 7_074_000);
  assert.is(await client.getMode(), 'USB');
  await client.setMode('CW');
  assert.is(await client.getMode(), 'CW');
  assert.is(await client.getPower(), 100);
  await client.setPower(50);
  assert.is(await client.getPower(), 50);
  assert.is(await client.powerStatus(), true);
  await client.ptt(true);
  assert.is(await client.readPowerMeter(), 50); // 50 W shows as meter 17, which reads back 50 W
  assert.is(rig.state().ptt, true);
  const info = await client.info();
  assert.is(info.frequency, 7_074_000);
  assert.is(info.mode, 'CW');
  assert.is(info.vfo, 'A');
  assert.is(info.transmitting, true);
  await client.ptt(false);
  assert.is((await client.info()).transmitting, false);
  assert.is(rig.state().ptt, false);
  assert.is(await client.readPowerMeter(), 0); // receiving: SM0 is the S-meter, 0 here
}
