// A long-lived Element-equivalent client for the tests, driven over stdin/stdout: matrix-js-sdk
// with its Rust crypto (WASM), the stack Element Web runs (see element_like.mjs for a one-shot
// version). Python's tests/element.py drives it.
//
// stdin: one JSON request a line, {"id": n, "op": "<name>", ...args}
// stdout: one JSON line per request, {"id": n, "ok": true, ...result} or
//         {"id": n, "ok": false, "error": "<message>"}; nothing else (logs go to stderr).
// Requests are handled concurrently: a long wait does not hold up the others.
//
// ops: login {baseUrl, user, password, deviceName} → {userId, deviceId}
//      join {roomId}
//      waitForInvite {fromUser?, roomId?, timeoutMs} → {roomId}
//      send {roomId, body} → {eventId}
//      react {roomId, eventId, key} → {eventId}
//      waitForEvent {roomId, sender?, replyTo?, relatesTo?, bodyContains?, eventId?, type?,
//                    timeoutMs, utdGraceMs?} → event
//      eventState {roomId, eventId} → event
//      stop
// event: {eventId, type, sender, body, content, encrypted, decryptionFailure,
//         decryptionFailureReason, wireType, wireContent}
//   For an event that could not be decrypted: type "m.room.encrypted", body null, content the
//   wire (encrypted) content.

// Node 20: matrix-js-sdk 43 uses Promise.withResolvers (Node 22).
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

// stdout is the protocol: whatever else would print there goes to stderr. The sdk's child
// loggers ignore the level set below (each is made at DEBUG), so the chatter is dropped here
// (AGORA_DRIVER_DEBUG=1 keeps it); warnings and errors go to stderr.
const out = process.stdout.write.bind(process.stdout);
const verbose = !!process.env.AGORA_DRIVER_DEBUG;
for (const name of ["log", "info", "debug", "trace"]) {
  console[name] = verbose ? (...args) => console.error(...args) : () => {};
}
console.warn = (...args) => console.error(...args);

const sdk = await import("matrix-js-sdk");
const { logger } = await import("matrix-js-sdk/lib/logger.js");
const { PollResponseEvent } = await import("matrix-js-sdk/lib/extensible_events_v1/PollResponseEvent.js");
logger.setLevel("error");

const log = (...args) => console.error("[driver]", ...args);
process.on("unhandledRejection", (err) => log("unhandled rejection:", err?.stack ?? err));

let client = null;
const changed = new Set(); // callbacks run whenever something the waiters look at changes
const firstFailureAt = new Map(); // event id → when it was first seen undecryptable

function notify() {
  for (const callback of [...changed]) {
    try { callback(); } catch (err) { log("waiter failed:", err?.stack ?? err); }
  }
}

function reply(message) {
  out(JSON.stringify(message) + "\n");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Poll-free waiting: `check` runs now and on every change; resolves with its first truthy value.
function waitUntil(check, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (fn, value) => {
      if (done) return;
      done = true;
      changed.delete(run);
      clearTimeout(timer);
      clearInterval(ticker);
      fn(value);
    };
    let running = false, again = false;
    const run = () => {
      if (done) return;
      if (running) { again = true; return; }
      running = true;
      Promise.resolve()
        .then(check)
        .then((value) => { if (value) finish(resolve, value); })
        .catch((err) => finish(reject, err))
        .finally(() => {
          running = false;
          if (again) { again = false; run(); }
        });
    };
    const timer = setTimeout(
      () => finish(reject, new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
    const ticker = setInterval(run, 250); // for conditions that change without an event
    changed.add(run);
    run();
  });
}

function requireClient() {
  if (!client) throw new Error("not logged in (send a login request first)");
  return client;
}

function getRoom(roomId) {
  const room = requireClient().getRoom(roomId);
  if (!room) throw new Error(`room ${roomId} is not known to this client`);
  return room;
}

function isPending(event) {
  return !event.getId() || event.getId().startsWith("~") || (event.status && event.status !== "sent");
}

function describe(event) {
  const failed = event.isDecryptionFailure();
  if (failed && !firstFailureAt.has(event.getId())) firstFailureAt.set(event.getId(), Date.now());
  const content = failed ? event.getWireContent() : event.getContent();
  return {
    eventId: event.getId(),
    type: failed ? event.getWireType() : event.getType(),
    sender: event.getSender(),
    body: failed ? null : (content?.body ?? null),
    content,
    encrypted: event.isEncrypted(),
    decryptionFailure: failed,
    decryptionFailureReason: event.decryptionFailureReason ?? null,
    wireType: event.getWireType(),
    wireContent: event.getWireContent(),
  };
}

async function decrypted(event) {
  if (event.isEncrypted()) {
    try {
      await requireClient().decryptEventIfNeeded(event);
    } catch (err) {
      log(`decrypting ${event.getId()}:`, err?.message ?? err);
    }
  }
  return event;
}

function timelineEvents(room) {
  const seen = new Map();
  for (const timeline of room.getTimelineSets().flatMap((set) => set.getTimelines())) {
    for (const event of timeline.getEvents()) seen.set(event.getId(), event);
  }
  for (const event of room.getLiveTimeline().getEvents()) seen.set(event.getId(), event);
  return [...seen.values()];
}

function findEvent(roomId, eventId) {
  const room = getRoom(roomId);
  return room.findEventById(eventId) ?? timelineEvents(room).find((e) => e.getId() === eventId);
}

// Does `event` (after a decryption attempt) match the filter? "yes", "undecryptable" (matches
// on what can be known of an event that did not decrypt) or null.
function matches(event, f) {
  if (isPending(event)) return null;
  if (f.eventId && event.getId() !== f.eventId) return null;
  if (f.sender && event.getSender() !== f.sender) return null;
  if (event.isDecryptionFailure()) {
    if (f.bodyContains != null || f.replyTo || f.relatesTo) return null;
    if (f.type && f.type !== event.getWireType()) return null;
    return "undecryptable";
  }
  const content = event.getContent() ?? {};
  const relation = content["m.relates_to"] ?? {};
  if (f.type && event.getType() !== f.type) return null;
  if (f.replyTo && relation["m.in_reply_to"]?.event_id !== f.replyTo) return null;
  if (f.relatesTo && relation.event_id !== f.relatesTo) return null;
  if (f.bodyContains != null && !(typeof content.body === "string" && content.body.includes(f.bodyContains))) return null;
  return "yes";
}

const ops = {
  async login({ baseUrl, user, password, deviceName }) {
    if (client) throw new Error("already logged in");
    const anonymous = sdk.createClient({ baseUrl });
    const session = await anonymous.loginRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user },
      password,
      initial_device_display_name: deviceName ?? "Element (test)",
    });
    const c = sdk.createClient({
      baseUrl, accessToken: session.access_token, userId: session.user_id,
      deviceId: session.device_id,
    });
    await c.initRustCrypto({ useIndexedDB: false });
    const prepared = new Promise((resolve, reject) => {
      c.on(sdk.ClientEvent.Sync, (state, _prev, data) => {
        if (state === "PREPARED") resolve();
        if (state === "ERROR") log("sync error:", data?.error?.message ?? data);
        notify();
      });
      setTimeout(() => reject(new Error("no first sync within 60 s")), 60000).unref();
    });
    c.on(sdk.RoomEvent.Timeline, () => notify());
    c.on(sdk.RoomEvent.MyMembership, () => notify());
    c.on(sdk.MatrixEventEvent.Decrypted, () => notify());
    c.on(sdk.ClientEvent.Room, () => notify());
    c.on(sdk.RoomStateEvent.Events, () => notify());
    client = c;
    await c.startClient({ initialSyncLimit: 20 });
    await prepared;
    return { userId: session.user_id, deviceId: session.device_id };
  },

  async join({ roomId, timeoutMs = 30000 }) {
    const c = requireClient();
    const room = await c.joinRoom(roomId);
    const id = room?.roomId ?? roomId;
    // As Element's room view: the room is there once the join came down the sync.
    await waitUntil(() => c.getRoom(id)?.getMyMembership() === "join", timeoutMs, `the join of ${id}`);
    return { roomId: id };
  },

  async waitForInvite({ fromUser, roomId, timeoutMs = 30000 }) {
    const c = requireClient();
    const found = await waitUntil(() => {
      for (const room of c.getRooms()) {
        if (room.getMyMembership() !== "invite") continue;
        if (roomId && room.roomId !== roomId) continue;
        const inviter = room.currentState.getStateEvents("m.room.member", c.getUserId())?.getSender();
        if (fromUser && inviter !== fromUser) continue;
        return { roomId: room.roomId, inviter: inviter ?? null };
      }
      return null;
    }, timeoutMs, `an invite${fromUser ? ` from ${fromUser}` : ""}${roomId ? ` to ${roomId}` : ""}`);
    return found;
  },

  async send({ roomId, body, timeoutMs = 30000 }) {
    const c = requireClient();
    await untilEncryptionKnown(roomId, timeoutMs);
    const sent = await c.sendEvent(roomId, "m.room.message", { msgtype: "m.text", body });
    return { eventId: sent.event_id };
  },

  async react({ roomId, eventId, key, timeoutMs = 30000 }) {
    const c = requireClient();
    await untilEncryptionKnown(roomId, timeoutMs);
    const sent = await c.sendEvent(roomId, "m.reaction", {
      "m.relates_to": { rel_type: "m.annotation", event_id: eventId, key },
    });
    return { eventId: sent.event_id };
  },

  // As Element's poll view: matrix-js-sdk's model of a poll (made only from a start event it
  // recognises), and whether an end it accepts closed it.
  async poll({ roomId, eventId, ended = false, timeoutMs = 30000 }) {
    const c = requireClient();
    const poll = await waitUntil(() => {
      const found = c.getRoom(roomId)?.polls.get(eventId);
      return found && (!ended || found.isEnded) ? found : null;
    }, timeoutMs, `the poll ${eventId}${ended ? " ended" : ""}`);
    const start = poll.pollEvent;
    return {
      question: start.question.text,
      answers: start.answers.map((a) => ({ id: a.id, text: a.text })),
      kind: start.rawKind,
      maxSelections: start.maxSelections,
      ended: poll.isEnded,
      endEventId: poll.endEventId ?? null,
    };
  },

  // A vote as Element sends one (matrix-js-sdk's PollResponseEvent, encrypted in the room).
  async vote({ roomId, eventId, answers, timeoutMs = 30000 }) {
    const c = requireClient();
    await untilEncryptionKnown(roomId, timeoutMs);
    const { type, content } = PollResponseEvent.from(answers, eventId).serialize();
    const sent = await c.sendEvent(roomId, type, content);
    return { eventId: sent.event_id };
  },

  async waitForEvent({ roomId, timeoutMs = 30000, utdGraceMs = 3000, ...filter }) {
    const c = requireClient();
    const known = ["sender", "replyTo", "relatesTo", "bodyContains", "eventId", "type"];
    const unknown = Object.keys(filter).filter((k) => !known.includes(k));
    if (unknown.length) throw new Error(`unknown waitForEvent filter(s): ${unknown.join(", ")}`);
    if (!known.some((k) => filter[k] != null)) throw new Error("waitForEvent needs a filter");
    // An event that did not decrypt may yet decrypt when its key arrives (to-device messages
    // race with the room event): only give it out as undecryptable once it stayed so for
    // utdGraceMs, or if the wait is about to time out.
    const deadline = Date.now() + timeoutMs;
    const found = await waitUntil(async () => {
      const room = c.getRoom(roomId);
      if (!room) return null;
      let undecryptable = null;
      for (const event of timelineEvents(room)) {
        if (isPending(event)) continue;
        if (filter.eventId && event.getId() !== filter.eventId) continue;
        if (filter.sender && event.getSender() !== filter.sender) continue;
        await decrypted(event);
        const verdict = matches(event, filter);
        if (verdict === "yes") return describe(event);
        if (verdict === "undecryptable" && !undecryptable) {
          if (!firstFailureAt.has(event.getId())) firstFailureAt.set(event.getId(), Date.now());
          const since = firstFailureAt.get(event.getId());
          if (Date.now() - since >= utdGraceMs || deadline - Date.now() < 500) undecryptable = event;
        }
      }
      return undecryptable ? describe(undecryptable) : null;
    }, timeoutMs, `an event in ${roomId} matching ${JSON.stringify(filter)}`);
    return found;
  },

  async eventState({ roomId, eventId }) {
    const event = findEvent(roomId, eventId);
    if (!event) throw new Error(`event ${eventId} is not known in ${roomId}`);
    await decrypted(event);
    return describe(event);
  },

  async stop() {
    if (client) client.stopClient();
    client = null;
    return {};
  },
};

// As Element: in a room with m.room.encryption state, send only once the crypto knows the room
// is encrypted (else the message would go out in clear). Ask the server too, in case the state
// has not come down the sync yet.
async function untilEncryptionKnown(roomId, timeoutMs) {
  const c = requireClient();
  const crypto = c.getCrypto();
  if (await crypto.isEncryptionEnabledInRoom(roomId)) return;
  let encrypted = c.getRoom(roomId)?.hasEncryptionStateEvent() ?? false;
  if (!encrypted) {
    try {
      await c.getStateEvent(roomId, "m.room.encryption", "");
      encrypted = true;
    } catch (err) {
      if (err?.errcode !== "M_NOT_FOUND") throw err;
    }
  }
  if (!encrypted) return;
  await waitUntil(() => crypto.isEncryptionEnabledInRoom(roomId), timeoutMs, `${roomId} known as encrypted`);
}

async function handle(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (err) {
    log("not JSON:", line);
    return;
  }
  const { id, op, ...args } = request;
  try {
    const handler = Object.hasOwn(ops, op) ? ops[op] : null;
    if (!handler) throw new Error(`unknown op ${JSON.stringify(op)}`);
    const result = await handler(args);
    reply({ ...result, id, ok: true });
    if (op === "stop") setTimeout(() => process.exit(0), 50);
  } catch (err) {
    const message = err?.data?.error ? `${err.message} (${err.data.errcode}: ${err.data.error})` : (err?.message ?? String(err));
    log(`${op} failed:`, err?.stack ?? err);
    reply({ id, ok: false, error: message });
  }
}

const { createInterface } = await import("node:readline");
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => { if (line.trim()) void handle(line); });
lines.on("close", () => {
  // The test went away: stop quietly.
  if (client) client.stopClient();
  setTimeout(() => process.exit(0), 50);
});
