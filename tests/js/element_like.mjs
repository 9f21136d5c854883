// An Element-equivalent client for the tests: matrix-js-sdk with its Rust crypto (WASM), the
// stack Element Web runs. It logs in, joins spaces as Element's space view does, reads the space
// hierarchy, joins a room, sends a command encrypted and waits for the bot's encrypted answer.
//
// node element_like.mjs '<json scenario>'   →   prints one JSON line with what it saw.
//   scenario: {baseUrl, user, password, join: [roomIds], hierarchyOf, room, send, from, timeoutMs}

// Node 20: matrix-js-sdk 43 uses Promise.withResolvers (Node 22).
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

import * as sdk from "matrix-js-sdk";
import { logger } from "matrix-js-sdk/lib/logger.js";

logger.setLevel("error");
const scenario = JSON.parse(process.argv[2]);
const timeout = scenario.timeoutMs ?? 60000;
const fail = (message) => { console.log(JSON.stringify({ error: message })); process.exit(1); };
setTimeout(() => fail(`timed out after ${timeout} ms`), timeout).unref();

const anonymous = sdk.createClient({ baseUrl: scenario.baseUrl });
const session = await anonymous.loginRequest({
  type: "m.login.password",
  identifier: { type: "m.id.user", user: scenario.user },
  password: scenario.password,
  initial_device_display_name: "matrix-js-sdk (rust crypto) test client",
});
const client = sdk.createClient({
  baseUrl: scenario.baseUrl, accessToken: session.access_token, userId: session.user_id,
  deviceId: session.device_id,
});
await client.initRustCrypto({ useIndexedDB: false });
const prepared = new Promise((resolve) => {
  client.on(sdk.ClientEvent.Sync, (state) => { if (state === "PREPARED") resolve(); });
});
await client.startClient({ initialSyncLimit: 10 });
await prepared;

for (const roomId of scenario.join ?? []) {
  await client.joinRoom(roomId);
}
const hierarchy = await client.getRoomHierarchy(scenario.hierarchyOf, 100, 10);
const result = {
  hierarchy: hierarchy.rooms.map((r) => ({ room_id: r.room_id, name: r.name, room_type: r.room_type ?? null })),
};

if (scenario.room) {
  await client.joinRoom(scenario.room);
  // Wait until the room is known as encrypted, as Element does before it sends.
  for (let i = 0; i < 100 && !(await client.getCrypto().isEncryptionEnabledInRoom(scenario.room)); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const answered = new Promise((resolve) => {
    client.on(sdk.RoomEvent.Timeline, async (event, room) => {
      if (room?.roomId !== scenario.room || event.getSender() !== scenario.from) return;
      await client.decryptEventIfNeeded(event);
      if (event.getType() !== "m.room.message") return;
      const replyTo = event.getContent()["m.relates_to"]?.["m.in_reply_to"]?.event_id;
      if (replyTo && replyTo === sent?.event_id) {
        resolve({
          body: event.getContent().body,
          encrypted: event.isEncrypted(),
          decryption_failure: event.isDecryptionFailure(),
          sender: event.getSender(),
        });
      }
    });
  });
  let sent = null;
  sent = await client.sendTextMessage(scenario.room, scenario.send);
  result.sent = sent.event_id;
  result.reply = await answered;
}

console.log(JSON.stringify(result));
client.stopClient();
process.exit(0);
